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

// argv: port, the server's Python code, then optionally `INITIAL_NO_AUTH_ACTION_COUNT`.
const WATCHDOG: &str = r#"
import os, subprocess, sys
cmd = [sys.executable, "-c", sys.argv[2], sys.argv[1]]
env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=sys.argv[3]) if len(sys.argv) > 3 else None
p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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

/// moto's server with IAM enforced, for [`crate::iam`]: after `INITIAL_NO_AUTH_ACTION_COUNT`
/// unauthenticated actions, every request must be signed by a known access key whose policies
/// allow its action on its resource. moto resolves the resource only for some services (SQS's
/// queue ARN) and checks `*` for the others, which no resource-scoped policy matches; this
/// teaches it the ARNs of DynamoDB tables, Secrets Manager secrets and Lambda functions, and
/// the IAM action of the API operations whose action has another name.
const IAM_SERVER: &str = r#"
from urllib.parse import unquote
from moto.iam import access_control
from moto.dynamodb.responses import DynamoHandler
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.awslambda.responses import LambdaResponse

# IAM authorizes these operations with another action (SQS: a batch needs its single
# operation's action, Service Authorization Reference; Lambda's Invoke is lambda:InvokeFunction).
ACTIONS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "lambda:Invoke": "lambda:InvokeFunction",
    "lambda:InvokeAsync": "lambda:InvokeFunction",
}
_init = access_control.IAMRequestBase.__init__
def _init_with_action(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self._action = ACTIONS.get(self._action, self._action)
access_control.IAMRequestBase.__init__ = _init_with_action

def _arn(self, service, resource):
    if resource.startswith("arn:"):
        return resource
    return f"arn:aws:{service}:{self.region}:{self.current_account}:{resource}"

def dynamodb_resource(self):
    p = self.body if isinstance(self.body, dict) else {}
    names = set()
    if p.get("TableName"):
        names.add(p["TableName"])
    names.update((p.get("RequestItems") or {}).keys())
    for item in p.get("TransactItems") or []:
        for op in item.values():
            if isinstance(op, dict) and op.get("TableName"):
                names.add(op["TableName"])
    # One resource per check: a request on several tables is checked against none (denied
    # unless the policy allows "*").
    return _arn(self, "dynamodb", "table/" + names.pop()) if len(names) == 1 else "*"

def secret_resource(self):
    secret_id = self._get_param("SecretId") or ""
    if secret_id.startswith("arn:"):
        return secret_id
    try:
        from moto.secretsmanager.models import secretsmanager_backends
        return secretsmanager_backends[self.current_account][self.region].describe_secret(secret_id).arn
    except Exception:
        return _arn(self, "secretsmanager", "secret:" + secret_id)

def lambda_resource(self):
    if "/functions/" not in self.path:
        return "*"
    name = unquote(self.path.split("/functions/", 1)[1].split("/")[0].split("?")[0])
    return _arn(self, "lambda", "function:" + name)

DynamoHandler._determine_resource = dynamodb_resource
SecretsManagerResponse._determine_resource = secret_resource
LambdaResponse._determine_resource = lambda_resource

"#;

/// moto's server as DynamoDB behaves: every request applied whole before the next one.
/// DynamoDB applies each write to an item atomically (an `ADD` counter loses no increment under
/// concurrent updates; a condition is checked against the item it writes). moto's threaded server
/// reads, updates and stores an item in separate steps with no lock, so that two concurrent
/// `ADD`s can lose one (seen: 19 of 20 increments); its DynamoDB requests are serialized here.
const SERVER: &str = r#"
import sys, threading
from moto.dynamodb.responses import DynamoHandler

_dynamodb = threading.Lock()
_call_action = DynamoHandler.call_action
def _atomic_call_action(self):
    with _dynamodb:
        return _call_action(self)
DynamoHandler.call_action = _atomic_call_action
"#;

const SERVE: &str = r#"
from moto.server import main
main(["-H", "127.0.0.1", "-p", sys.argv[1]])
"#;

impl Moto {
    fn start() -> Self {
        Self::start_with(None)
    }

    /// With `Some(n)`: the IAM-enforcing server, open for its first `n` actions.
    pub(crate) fn start_with(no_auth_actions: Option<u32>) -> Self {
        let python = python();
        let port = free_port();
        let mut command = Command::new(&python);
        command.arg("-c").arg(WATCHDOG).arg(port.to_string());
        match no_auth_actions {
            Some(n) => command.arg(format!("{SERVER}{IAM_SERVER}{SERVE}")).arg(n.to_string()),
            None => command.arg(format!("{SERVER}{SERVE}")),
        };
        let mut child = command
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
        assert_eq!(line.trim(), "started", "moto watchdog did not start ({})", python.display());
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
        Self { endpoint: format!("http://{addr}"), port, _child: Mutex::new(child) }
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
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}
