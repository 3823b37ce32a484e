//! Lambda's runtime API, served by the test: a function's real `bootstrap` (the binary built from
//! `functions/*`) is started with `AWS_LAMBDA_RUNTIME_API` pointing here, polls
//! `GET /2018-06-01/runtime/invocation/next` as it does in Lambda, and answers with
//! `POST .../invocation/{id}/response` or `.../error` (or `.../init/error` when it cannot start).
//! The protocol as AWS documents it ("Using the Lambda runtime API for custom runtimes").

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use tokio::sync::Notify;

/// What a function answered to one invocation.
#[derive(Debug, Clone)]
pub enum Outcome {
    Response(Value),
    Error(Value),
}

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<VecDeque<(String, Value, u64)>>,
    arrived: Notify,
    outcomes: Mutex<HashMap<String, Outcome>>,
    init_error: Mutex<Option<Value>>,
    answered: Notify,
}

/// A running function: its process and the runtime API it polls.
#[derive(Debug)]
pub struct Function {
    pub name: String,
    pub address: String,
    function_arn: String,
    timeout: Duration,
    shared: Arc<Shared>,
    child: std::process::Child,
    logs: Arc<Mutex<String>>,
    next_id: u64,
}

/// The function binary `name` as `cargo build`/`cargo test --workspace` leave it:
/// `$SFHS_LAMBDA_BIN_DIR/name`, else the debug build in the target directory.
pub fn binary(name: &str) -> PathBuf {
    let path = if let Some(dir) = std::env::var_os("SFHS_LAMBDA_BIN_DIR") {
        PathBuf::from(dir).join(name)
    } else {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"), PathBuf::from);
        target.join("debug").join(name)
    };
    assert!(
        path.is_file(),
        "{} is missing: build the functions first (`cargo build -p sfhs-{name} --bin {name}`; \
         `cargo test --workspace` builds them), or set SFHS_LAMBDA_BIN_DIR",
        path.display()
    );
    path
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    loop {
        let notified = shared.arrived.notified();
        let popped = shared.pending.lock().expect("lock").pop_front();
        if let Some((id, event, deadline)) = popped {
            let mut headers = HeaderMap::new();
            let mut set = |k: &'static str, v: String| {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    headers.insert(k, v);
                }
            };
            set("lambda-runtime-aws-request-id", id);
            set("lambda-runtime-deadline-ms", deadline.to_string());
            set(
                "lambda-runtime-invoked-function-arn",
                event.get("__function_arn").and_then(Value::as_str).unwrap_or_default().to_owned(),
            );
            set(
                "lambda-runtime-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".into(),
            );
            let mut event = event;
            if let Some(m) = event.as_object_mut() {
                m.remove("__function_arn");
            }
            return (StatusCode::OK, headers, event.to_string());
        }
        notified.await;
    }
}

fn record(shared: &Shared, id: String, outcome: Outcome) -> StatusCode {
    shared.outcomes.lock().expect("lock").insert(id, outcome);
    shared.answered.notify_waiters();
    StatusCode::ACCEPTED
}

fn json_of(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

impl Function {
    /// Starts `binary` with `env` (the template's variables, credentials, endpoint), under a
    /// runtime API of its own, as a function named `name` with the template's `timeout` and
    /// `memory_mb`.
    pub async fn start(
        binary: &Path,
        name: &str,
        timeout: Duration,
        memory_mb: u64,
        env: Vec<(String, String)>,
    ) -> Function {
        let shared = Arc::new(Shared::default());
        let app =
            axum::Router::new()
                .route("/2018-06-01/runtime/invocation/next", get(next))
                .route(
                    "/2018-06-01/runtime/invocation/{id}/response",
                    post(
                        |State(s): State<Arc<Shared>>,
                         UrlPath(id): UrlPath<String>,
                         body: Bytes| async move {
                            record(&s, id, Outcome::Response(json_of(&body)))
                        },
                    ),
                )
                .route(
                    "/2018-06-01/runtime/invocation/{id}/error",
                    post(
                        |State(s): State<Arc<Shared>>,
                         UrlPath(id): UrlPath<String>,
                         body: Bytes| async move {
                            record(&s, id, Outcome::Error(json_of(&body)))
                        },
                    ),
                )
                .route(
                    "/2018-06-01/runtime/init/error",
                    post(|State(s): State<Arc<Shared>>, body: Bytes| async move {
                        *s.init_error.lock().expect("lock") = Some(json_of(&body));
                        s.answered.notify_waiters();
                        StatusCode::ACCEPTED
                    }),
                )
                .with_state(shared.clone());
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the runtime API");
        let address = listener.local_addr().expect("address").to_string();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let mut command = std::process::Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env)
            .env("AWS_LAMBDA_RUNTIME_API", &address)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string())
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/01/[$LATEST]test")
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
            .env("LAMBDA_TASK_ROOT", "/var/task")
            .envs(clock_env())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child =
            command.spawn().unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let logs = Arc::new(Mutex::new(String::new()));
        let streams: [Option<Box<dyn Read + Send>>; 2] = [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        ];
        for stream in streams.into_iter().flatten() {
            let logs = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut l = logs.lock().expect("lock");
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        Function {
            name: name.to_owned(),
            function_arn: format!(
                "arn:aws:lambda:{}:{}:function:{name}",
                crate::iam::REGION,
                crate::iam::ACCOUNT
            ),
            address,
            timeout,
            shared,
            child,
            logs,
            next_id: 0,
        }
    }

    /// What the function printed so far (its JSON logs and EMF lines).
    pub fn logs(&self) -> String {
        self.logs.lock().expect("lock").clone()
    }

    /// Whether a log line satisfying `line` arrives within 5 s: the function's stdout is read
    /// by another thread, which may lag behind the answer on the runtime API.
    pub async fn logged(&self, line: impl Fn(&str) -> bool) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            if self.logs().lines().any(&line) {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Hands `event` to the function and waits (at most the template's timeout) for its answer.
    /// Panics, with the function's logs, when it fails to start, exits or does not answer.
    pub async fn invoke(&mut self, event: Value) -> Outcome {
        self.next_id += 1;
        let id = format!("test-invocation-{}", self.next_id);
        let deadline = now_ms() + u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        let mut event = event;
        if let Some(m) = event.as_object_mut() {
            m.insert("__function_arn".into(), Value::String(self.function_arn.clone()));
        }
        self.shared.pending.lock().expect("lock").push_back((id.clone(), event, deadline));
        self.shared.arrived.notify_waiters();
        let until = Instant::now() + self.timeout + Duration::from_secs(5);
        loop {
            let answered = self.shared.answered.notified();
            if let Some(outcome) = self.shared.outcomes.lock().expect("lock").remove(&id) {
                return outcome;
            }
            if let Some(e) = self.shared.init_error.lock().expect("lock").clone() {
                panic!("{} failed to start: {e}\n{}", self.name, self.logs());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}) before answering\n{}", self.name, self.logs());
            }
            assert!(
                Instant::now() < until,
                "{} did not answer {id} within its timeout\n{}",
                self.name,
                self.logs()
            );
            let _ = tokio::time::timeout(Duration::from_millis(200), answered).await;
        }
    }

    /// Whether the function is polling for its next event (it has started and is idle).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The variables that set this process's clock (libfaketime's, as the team's `clock-shift` tool
/// sets them), handed on to the function: in AWS, a function reads the same wall clock as
/// Salesforce, DynamoDB and SQS, so under a shifted clock the function must run shifted too, or
/// it meets versions, enable times and sweep windows a year away from its own "now".
fn clock_env() -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    std::env::vars_os()
        .filter(|(k, _)| {
            let k = k.to_string_lossy();
            k == "LD_PRELOAD" || k.starts_with("FAKETIME")
        })
        .collect()
}
