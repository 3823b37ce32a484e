//! Starts moto's server (a real HTTP implementation of AWS APIs) for the tests.
//!
//! The server runs under a small Python watchdog that reads its stdin: when the test process
//! exits, for any reason, the pipe closes and the watchdog stops moto. No server outlives a run.
//!
//! Python is found in this order: `SFHS_MOTO_PYTHON`; the workspace's `.venv/bin/python` (made by
//! `scripts/test`); `python3`. It must be able to `import moto.server`.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    pub endpoint: String,
    pub port: u16,
    // Held so that the watchdog's stdin stays open for the life of the process.
    _child: Mutex<Child>,
}

const WATCHDOG: &str = r#"
import subprocess, sys
p = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", sys.argv[1]],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("started", flush=True)
try:
    sys.stdin.read()
finally:
    p.terminate()
    try:
        p.wait(5)
    except Exception:
        p.kill()
"#;

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SFHS_MOTO_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

impl Moto {
    fn start() -> Self {
        let python = python();
        let port = free_port();
        let mut child = Command::new(&python)
            .arg("-c")
            .arg(WATCHDOG)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "could not run {} to start moto's server: {e}. Run `scripts/test` (it makes .venv with moto[server]) or set SFHS_MOTO_PYTHON",
                    python.display()
                )
            });
        let stdout = child.stdout.take().expect("watchdog stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).ok();
        assert_eq!(
            line.trim(),
            "started",
            "moto watchdog did not start ({})",
            python.display()
        );
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "moto's server exited early ({status}); is moto[server] installed for {}?",
                    python.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "moto's server did not listen on {addr} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            endpoint: format!("http://{addr}"),
            port,
            _child: Mutex::new(child),
        }
    }
}

/// The moto server of this test binary, started on first use.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(Moto::start)
}

/// A name no other test of this run uses (queues and tables are shared by the whole binary).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
