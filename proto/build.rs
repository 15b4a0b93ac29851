//! Compiles `borgerraad/v1/*.proto` with a vendored protoc, so no system protoc is needed,
//! and writes the descriptor set that server reflection serves.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let protos = [
        "borgerraad/v1/common.proto",
        "borgerraad/v1/intake.proto",
        "borgerraad/v1/eligibility.proto",
        "borgerraad/v1/deadline.proto",
        "borgerraad/v1/reporting.proto",
        "borgerraad/v1/events.proto",
    ];
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    let well_known = protoc_bin_vendored::include_path()?;
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("borgerraad_descriptor.bin"))
        .compile_with_config(
            config,
            &protos.map(PathBuf::from),
            &[PathBuf::from("."), well_known],
        )?;
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    Ok(())
}
