//! The Ray dashboard's REST API over plain HTTP (ureq): `GET /api/version`,
//! `GET` and `PUT /api/serve/applications/`. Every call has a timeout;
//! requests go to the given address only (no proxy from the environment, no
//! redirects followed).

use std::fmt;
use std::time::Duration;

use serde_json::Value;

/// The dashboard address used when neither `--address` nor
/// `$RAY_DASHBOARD_ADDRESS` says otherwise (Ray's own default).
pub const DEFAULT_ADDRESS: &str = "http://127.0.0.1:8265";

/// Largest response read (a `ServeInstanceDetails` of a big cluster is a few MB).
const RESPONSE_CAP: u64 = 64 << 20;

/// Why a call to the dashboard failed, worded for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterError {
    /// The address is not an `http://host:port` URL.
    BadAddress { address: String, why: String },
    /// Nothing answered: connection refused, unknown host, timeout.
    Unreachable { address: String, why: String },
    /// Something answered, but not Ray's dashboard (or not its Serve API).
    NotRay { url: String, why: String },
    /// Ray answered with an error status.
    Rejected {
        url: String,
        status: u16,
        body: String,
    },
    /// Ray is older than the REST API bentoray reads.
    TooOld { version: String },
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::BadAddress { address, why } => {
                write!(f, "`{address}` is not a Ray dashboard address: {why}")
            }
            ClusterError::Unreachable { address, why } => write!(
                f,
                "cannot reach the Ray dashboard at {address}: {why} (is the cluster running? \
                 `ray start --head` prints the dashboard's address; pass it with --address or \
                 $RAY_DASHBOARD_ADDRESS)"
            ),
            ClusterError::NotRay { url, why } => write!(
                f,
                "{url} did not answer as a Ray dashboard: {why} (the address must be the \
                 dashboard's, default port 8265, not Serve's HTTP port or the GCS port)"
            ),
            ClusterError::Rejected { url, status, body } => {
                write!(f, "{url} answered HTTP {status}: {}", snippet(body, 2000))
            }
            ClusterError::TooOld { version } => write!(
                f,
                "the cluster runs Ray {version}, whose dashboard does not serve the Serve REST \
                 API bentoray reads (Ray {}.{} or later is needed)",
                MIN_RAY.0, MIN_RAY.1
            ),
        }
    }
}

/// Oldest Ray whose head dashboard serves `/api/serve/applications/` with
/// `ServeInstanceDetails` (before, it lived on the dashboard agent).
pub const MIN_RAY: (u32, u32) = (2, 8);

/// A validated dashboard address and an HTTP agent with timeouts.
pub struct Dashboard {
    /// `http://host:port`, without a trailing slash.
    pub base: String,
    agent: ureq::Agent,
}

impl Dashboard {
    /// Parses `address` (`http://host:port`, or `host:port`) and prepares an
    /// agent whose every call ends within `timeout`.
    pub fn new(address: &str, timeout: Duration) -> Result<Dashboard, ClusterError> {
        let base = normalize_address(address)?;
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(5))))
            // Nothing but the given address: no proxy from the environment,
            // no redirect to somewhere else.
            .proxy(None)
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(concat!("bentoray/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Dashboard {
            base,
            agent: ureq::Agent::new_with_config(config),
        })
    }

    /// `GET /api/version` → the cluster's Ray version (`ray_version`).
    pub fn ray_version(&self) -> Result<String, ClusterError> {
        let url = format!("{}/api/version", self.base);
        let value = self.get_json(&url)?;
        match value.get("ray_version").and_then(Value::as_str) {
            Some(v) => Ok(v.to_string()),
            None => Err(ClusterError::NotRay {
                url,
                why: "the JSON has no `ray_version`".into(),
            }),
        }
    }

    /// `GET /api/serve/applications/`: the live `ServeInstanceDetails`.
    pub fn serve_details(&self) -> Result<Value, ClusterError> {
        let url = format!("{}/api/serve/applications/", self.base);
        self.get_json(&url)
    }

    /// `PUT /api/serve/applications/` with a whole `ServeDeploySchema`.
    pub fn put_applications(&self, config: &Value) -> Result<(), ClusterError> {
        let url = format!("{}/api/serve/applications/", self.base);
        let body = serde_json::to_string(config).expect("JSON serializes");
        let response = self
            .agent
            .put(&url)
            .content_type("application/json")
            .send(body.as_bytes())
            .map_err(|e| self.transport(&url, e))?;
        let status = response.status().as_u16();
        let text = read_body(response, &url)?;
        if status == 200 {
            Ok(())
        } else {
            Err(ClusterError::Rejected {
                url,
                status,
                body: text,
            })
        }
    }

    fn get_json(&self, url: &str) -> Result<Value, ClusterError> {
        let response = self
            .agent
            .get(url)
            .header("Accept", "application/json")
            .call()
            .map_err(|e| self.transport(url, e))?;
        let status = response.status().as_u16();
        let text = read_body(response, url)?;
        match status {
            200 => serde_json::from_str(&text).map_err(|e| ClusterError::NotRay {
                url: url.to_string(),
                why: format!("the answer is not JSON ({e}): {}", snippet(&text, 200)),
            }),
            404 => Err(ClusterError::NotRay {
                url: url.to_string(),
                why: "HTTP 404 (no such endpoint)".into(),
            }),
            _ => Err(ClusterError::Rejected {
                url: url.to_string(),
                status,
                body: text,
            }),
        }
    }

    fn transport(&self, url: &str, e: ureq::Error) -> ClusterError {
        let why = match &e {
            ureq::Error::Timeout(_) => "no answer in time".to_string(),
            ureq::Error::HostNotFound => "unknown host".to_string(),
            ureq::Error::ConnectionFailed => "connection failed".to_string(),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                "connection refused".to_string()
            }
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                "no answer in time".to_string()
            }
            ureq::Error::Io(io) => io.to_string(),
            ureq::Error::Protocol(p) => {
                return ClusterError::NotRay {
                    url: url.to_string(),
                    why: format!("not an HTTP answer ({p})"),
                };
            }
            other => other.to_string(),
        };
        ClusterError::Unreachable {
            address: self.base.clone(),
            why,
        }
    }
}

fn read_body(
    response: ureq::http::Response<ureq::Body>,
    url: &str,
) -> Result<String, ClusterError> {
    response
        .into_body()
        .with_config()
        .limit(RESPONSE_CAP)
        .read_to_string()
        .map_err(|e| ClusterError::NotRay {
            url: url.to_string(),
            why: format!("cannot read the answer: {e}"),
        })
}

/// `http://host:port` from what the user gave: a scheme-less `host:port`
/// gets `http://`; a trailing `/` is dropped; `https`, paths, queries and
/// credentials are refused (bentoray speaks plain HTTP to the dashboard).
pub fn normalize_address(address: &str) -> Result<String, ClusterError> {
    let bad = |why: &str| ClusterError::BadAddress {
        address: address.to_string(),
        why: why.to_string(),
    };
    let trimmed = address.trim();
    let rest = match trimmed.split_once("://") {
        Some(("http", rest)) => rest,
        Some(("https", _)) => {
            return Err(bad(
                "bentoray speaks plain HTTP to the dashboard; reach an HTTPS dashboard through a \
                 local port-forward (e.g. `kubectl port-forward … 8265`) and pass http://127.0.0.1:8265",
            ));
        }
        Some((scheme, _)) => return Err(bad(&format!("unsupported scheme `{scheme}`"))),
        None => trimmed,
    };
    let host_port = rest.strip_suffix('/').unwrap_or(rest);
    if host_port.is_empty() {
        return Err(bad("no host"));
    }
    if host_port.contains(['/', '?', '#', '@']) || host_port.contains(char::is_whitespace) {
        return Err(bad(
            "expected http://HOST:PORT (no path, query or credentials)",
        ));
    }
    let port_ok = match host_port.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty() && !port.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        }
        None => true,
    };
    if !port_ok {
        return Err(bad("the port must be a number from 1 to 65535"));
    }
    Ok(format!("http://{host_port}"))
}

/// The first `max` characters of `text`, on one line.
pub fn snippet(text: &str, max: usize) -> String {
    let one_line: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match one_line.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &one_line[..at]),
        None => one_line,
    }
}

/// `text` with line breaks kept, capped at `max` characters.
pub fn snippet_lines(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// `MAJOR.MINOR[.PATCH…]` → (major, minor); `None` when not a release number.
pub fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor_text = parts.next()?;
    let digits: String = minor_text
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, digits.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            normalize_address("127.0.0.1:8265").unwrap(),
            "http://127.0.0.1:8265"
        );
        assert_eq!(
            normalize_address("http://head:8265/").unwrap(),
            "http://head:8265"
        );
        for bad in [
            "https://x:1",
            "ftp://x",
            "http://",
            "http://x:1/api",
            "http://u@x:1",
            "x:0",
            "x:port",
            "x:",
        ] {
            assert!(normalize_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions() {
        assert_eq!(major_minor("2.60.0"), Some((2, 60)));
        assert_eq!(major_minor("3.0.0rc1"), Some((3, 0)));
        assert_eq!(major_minor("2.61.0.dev0"), Some((2, 61)));
        assert_eq!(major_minor("nightly"), None);
    }
}
