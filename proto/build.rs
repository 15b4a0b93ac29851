//! Compiles `borgerraad/v1/*.proto` with a vendored protoc, so no system protoc is needed, with
//! the services' codec (`crate::codec`), and writes the descriptor sets that server reflection
//! serves: ours, and `google/rpc/{status,error_details}.proto` (copied verbatim from tonic-types,
//! whose Rust types encode the error details) so clients can decode `google.rpc.BadRequest`.

use std::path::PathBuf;
use std::process::Command;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let well_known = protoc_bin_vendored::include_path()?;
    let protos = [
        "borgerraad/v1/common.proto",
        "borgerraad/v1/intake.proto",
        "borgerraad/v1/eligibility.proto",
        "borgerraad/v1/deadline.proto",
        "borgerraad/v1/reporting.proto",
        "borgerraad/v1/events.proto",
    ];
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(&protoc);
    tonic_prost_build::configure()
        .codec_path("crate::codec::ProtoCodec")
        .file_descriptor_set_path(out_dir.join("borgerraad_descriptor.bin"))
        .compile_with_config(
            config,
            &protos.map(PathBuf::from),
            &[PathBuf::from("."), well_known.clone()],
        )?;

    // Descriptors only: the Rust types of google.rpc come from tonic-types.
    let error_details = ["google/rpc/status.proto", "google/rpc/error_details.proto"];
    let status = Command::new(&protoc)
        .arg("--include_imports")
        .arg(format!(
            "--descriptor_set_out={}",
            out_dir.join("google_rpc_descriptor.bin").display()
        ))
        .arg("-I.")
        .arg(format!("-I{}", well_known.display()))
        .args(error_details)
        .status()?;
    if !status.success() {
        return Err(format!("protoc failed on {error_details:?}: {status}").into());
    }
    for proto in protos.iter().chain(&error_details) {
        println!("cargo:rerun-if-changed={proto}");
    }
    Ok(())
}
