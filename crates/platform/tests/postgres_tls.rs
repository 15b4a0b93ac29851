//! PostgreSQL over TLS through nothing but `DATABASE_URL`: sqlx (built with rustls) connects to
//! a private PostgreSQL with `ssl=on` when `sslmode=verify-full&sslrootcert=…` names the CA
//! that signed the server's certificate, and refuses to when it names another CA.
//!
//! The server is a cluster of this test's own, made with `initdb` and run with `pg_ctl` from
//! `/usr/lib/postgresql/<version>/bin` (as the `postgres` user when the test runs as root, since
//! PostgreSQL refuses to run as root).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use borgerraad_test_harness::{TestPki, free_port};
use sqlx::Connection as _;

/// The newest installed PostgreSQL's binaries.
fn pg_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries in /usr/lib/postgresql (Debian package postgresql)")
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    versions.sort_by_key(|bin| {
        bin.parent()
            .and_then(Path::file_name)
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop().expect("an initdb under /usr/lib/postgresql")
}

fn is_root() -> bool {
    let id = Command::new("id").arg("-u").output().expect("id runs");
    String::from_utf8_lossy(&id.stdout).trim() == "0"
}

/// `program` with `args`, as the `postgres` user when we are root.
fn as_server_user(program: &Path, args: &[&str]) -> std::process::Output {
    let mut command = if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    command
        .args(args)
        .output()
        .expect("the PostgreSQL tool runs")
}

fn chown_to_server_user(path: &Path) {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path)
            .status()
            .expect("chown runs");
        assert!(status.success(), "chown {}", path.display());
    }
}

/// A private PostgreSQL serving TLS with a certificate from `pki`, stopped when dropped.
struct TlsPostgres {
    folder: tempfile::TempDir,
    port: u16,
}

impl TlsPostgres {
    fn start(pki: &TestPki) -> Self {
        let folder = tempfile::tempdir().expect("a folder");
        std::fs::set_permissions(folder.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let data = folder.path().join("data");
        let socket = folder.path().join("socket");
        std::fs::create_dir_all(&socket).expect("socket folder");
        chown_to_server_user(folder.path());
        let data_arg = data.to_str().expect("UTF-8 path");
        let initdb = as_server_user(
            &pg_bin().join("initdb"),
            &["-D", data_arg, "-U", "postgres", "-A", "trust"],
        );
        assert!(
            initdb.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        // PostgreSQL wants its key private to the user it runs as.
        for (name, content) in [
            ("server.crt", &pki.server.cert_pem),
            ("server.key", &pki.server.key_pem),
        ] {
            let path = data.join(name);
            std::fs::write(&path, content).expect("written");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        chown_to_server_user(&data);
        let port = free_port().expect("a free port");
        let options = format!(
            "-h 127.0.0.1 -p {port} -k {} -c ssl=on -c ssl_cert_file=server.crt \
             -c ssl_key_file=server.key",
            socket.display()
        );
        let log = folder.path().join("server.log");
        let started = as_server_user(
            &pg_bin().join("pg_ctl"),
            &[
                "-D",
                data_arg,
                "-l",
                log.to_str().expect("UTF-8 path"),
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
        assert!(
            started.status.success(),
            "pg_ctl start: {}\n{}",
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Self { folder, port }
    }

    fn url(&self, ca_file: &Path) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=verify-full&sslrootcert={}",
            self.port,
            ca_file.display()
        )
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let data = self.folder.path().join("data");
        as_server_user(
            &pg_bin().join("pg_ctl"),
            &[
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}

#[tokio::test]
async fn sqlx_connects_with_verify_full_to_the_ca_it_is_given_and_refuses_another() {
    let pki = TestPki::new("postgres").expect("certificates");
    let other = TestPki::new("someone else").expect("certificates");
    let postgres = TlsPostgres::start(&pki);

    let mut connection = sqlx::PgConnection::connect(&postgres.url(&pki.ca_file))
        .await
        .expect("connected over TLS, the server's certificate verified");
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&mut connection)
            .await
            .expect("asked");
    assert!(encrypted, "the connection is encrypted");
    connection.close().await.expect("closed");

    let refused = sqlx::PgConnection::connect(&postgres.url(&other.ca_file)).await;
    let error = refused.expect_err("a server whose certificate another CA signed is refused");
    // rustls reports it as an I/O error of kind InvalidData carrying the reason.
    let said = format!("{error:?}");
    assert!(
        said.contains("InvalidCertificate(UnknownIssuer)"),
        "refused for the certificate's issuer: {said}"
    );
}

#[tokio::test]
async fn the_service_pool_connects_over_tls_from_the_url_alone() {
    let pki = TestPki::new("postgres").expect("certificates");
    let postgres = TlsPostgres::start(&pki);
    static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate::Migrator::DEFAULT;

    let pool = borgerraad_platform::db::connect_and_migrate(
        &postgres
            .url(&pki.ca_file)
            .replace("/postgres?", "/borgerraad?"),
        "intake",
        2,
        &MIGRATOR,
    )
    .await
    .expect("database and schema made over TLS");
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&pool)
            .await
            .expect("asked");
    assert!(encrypted);
    pool.close().await;
}
