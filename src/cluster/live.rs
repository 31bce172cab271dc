//! What the dashboard reports about Serve (`ServeInstanceDetails` from
//! `GET /api/serve/applications/`, Ray's `serve/schema.py`): only the fields
//! bentoray reads; unknown fields are ignored, so newer Rays parse too.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Deserialize)]
pub struct ServeInstance {
    #[serde(default)]
    pub proxy_location: Option<Value>,
    #[serde(default)]
    pub http_options: Option<Value>,
    #[serde(default)]
    pub grpc_options: Option<Value>,
    #[serde(default)]
    pub target_capacity: Option<Value>,
    pub applications: IndexMap<String, LiveApplication>,
    /// Ray 2.60+: removing an option from the config restores the value in
    /// code (absent before: the deployed value stays in force).
    #[serde(default)]
    pub restores_unset_config_options: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LiveApplication {
    pub status: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub route_prefix: Option<String>,
    /// The config it was deployed with (`None` for `serve.run` apps).
    #[serde(default)]
    pub deployed_app_config: Option<Map<String, Value>>,
    /// `declarative` (a config) or `imperative` (`serve.run`).
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub deployments: IndexMap<String, LiveDeployment>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LiveDeployment {
    pub status: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub target_num_replicas: Option<u64>,
    /// The deployment's effective options (every field, defaults included).
    #[serde(default)]
    pub deployment_config: Option<Map<String, Value>>,
    #[serde(default)]
    pub replicas: Vec<LiveReplica>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LiveReplica {
    #[serde(default)]
    pub replica_id: Option<String>,
    pub state: String,
    #[serde(default)]
    pub node_id: Option<String>,
    #[serde(default)]
    pub node_ip: Option<String>,
}

impl LiveApplication {
    /// Whether `serve deploy` (a declarative PUT) deletes this application
    /// when the config leaves it out.
    pub fn is_declarative(&self) -> bool {
        self.source.as_deref() != Some("imperative") && self.deployed_app_config.is_some()
    }
}

impl LiveDeployment {
    pub fn running_replicas(&self) -> usize {
        self.replicas
            .iter()
            .filter(|r| r.state == "RUNNING")
            .count()
    }
}

/// Parses `ServeInstanceDetails`; the error names the JSON path that did not fit.
pub fn parse(value: &Value) -> Result<ServeInstance, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        format!(
            "unexpected ServeInstanceDetails JSON at `{path}`: {}",
            e.into_inner()
        )
    })
}
