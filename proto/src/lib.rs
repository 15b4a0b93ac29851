//! The protobuf contracts of Borgerraad, generated from `proto/borgerraad/v1/*.proto`.
//!
//! `v1` holds the gRPC clients and servers of the four services and the [`v1::Event`]
//! envelope carried on NATS; [`codec`] is the codec they use (a request that cannot be decoded
//! is the caller's fault); [`FILE_DESCRIPTOR_SET`] and [`GOOGLE_RPC_FILE_DESCRIPTOR_SET`] feed
//! gRPC server reflection.

pub mod codec;

pub mod v1 {
    tonic::include_proto!("borgerraad.v1");
}

/// The encoded descriptors of every Borgerraad proto file and its imports, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("borgerraad_descriptor");

/// The encoded descriptors of `google/rpc/status.proto` and `google/rpc/error_details.proto`
/// (with their imports): the error details our statuses carry, such as `google.rpc.BadRequest`.
pub const GOOGLE_RPC_FILE_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("google_rpc_descriptor");
