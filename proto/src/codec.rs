//! The codec of every generated server and client: prost's, except that a message that cannot
//! be decoded (a string field that is not UTF-8, a truncated field, a wrong wire type) is
//! INVALID_ARGUMENT, not tonic's INTERNAL. A server only ever decodes requests, so the fault is
//! the caller's, and the caller is told which field. (A client decodes responses with it too;
//! ours are prost-encoded Rust values, which always decode.)

use std::marker::PhantomData;

use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstEncoder};

/// [`ProstCodec`] with decode errors mapped to INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct ProtoCodec<T, U> {
    prost: ProstCodec<T, U>,
}

impl<T, U> Default for ProtoCodec<T, U> {
    fn default() -> Self {
        Self {
            prost: ProstCodec::default(),
        }
    }
}

impl<T, U> Codec for ProtoCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ProtoDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.prost.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProtoDecoder {
            _message: PhantomData,
        }
    }
}

/// Decodes `U`; a message that is not a valid `U` is INVALID_ARGUMENT naming the field.
#[derive(Debug, Clone)]
pub struct ProtoDecoder<U> {
    _message: PhantomData<U>,
}

impl<U: Message + Default> Decoder for ProtoDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        // prost names the message and field, never the value: "failed to decode Protobuf
        // message: GetSummaryRequest.department: invalid string value: data is not UTF-8 encoded".
        U::decode(buf)
            .map(Some)
            .map_err(|error| Status::invalid_argument(error.to_string()))
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}
