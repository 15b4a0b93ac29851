//! The protobuf contracts of Borgerraad, generated from `proto/borgerraad/v1/*.proto`.
//!
//! `v1` holds the gRPC clients and servers of the four services and the [`v1::Event`]
//! envelope carried on NATS; [`FILE_DESCRIPTOR_SET`] feeds gRPC server reflection.

pub mod v1 {
    tonic::include_proto!("borgerraad.v1");
}

/// The encoded descriptors of every Borgerraad proto file, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("borgerraad_descriptor");
