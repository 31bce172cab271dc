//! KubeRay's `RayService` (`apiVersion: ray.io/v1`) for a plan with
//! `[kuberay]`: `spec.serveConfigV2` is the emitted serve.yaml itself, as a
//! literal block (KubeRay never validates that string; bentoray already
//! did), and `rayClusterConfig` holds the head and worker groups, each pod
//! one container with equal requests and limits.

use serde_json::{Map, Value, json};

use super::serve_yaml;
use crate::plan::Plan;
use crate::plan::kuberay::{KubeRayPlan, PodPlan};

/// The manifest as a JSON value. `serve_yaml` is the exact text of
/// serve.yaml.
pub fn to_value(kuberay: &KubeRayPlan, serve_yaml: &str) -> Value {
    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::String(kuberay.name.clone()));
    if let Some(ns) = &kuberay.namespace {
        metadata.insert("namespace".into(), Value::String(ns.clone()));
    }
    let groups: Vec<Value> = kuberay
        .worker_groups
        .iter()
        .map(|g| {
            json!({
                "groupName": g.name,
                "replicas": g.replicas,
                "minReplicas": g.min_replicas,
                "maxReplicas": g.max_replicas,
                "rayStartParams": g.pod.ray_start_params,
                "template": template("ray-worker", &kuberay.image, &g.pod),
            })
        })
        .collect();
    let mut cluster = Map::new();
    cluster.insert(
        "rayVersion".into(),
        Value::String(kuberay.ray_version.clone()),
    );
    cluster.insert(
        "headGroupSpec".into(),
        json!({
            // Required by KubeRay up to 1.3, so always written.
            "rayStartParams": kuberay.head.ray_start_params,
            "template": template("ray-head", &kuberay.image, &kuberay.head),
        }),
    );
    if !groups.is_empty() {
        cluster.insert("workerGroupSpecs".into(), Value::Array(groups));
    }
    json!({
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": metadata,
        "spec": {
            "serveConfigV2": serve_yaml,
            "rayClusterConfig": cluster,
        },
    })
}

fn template(container: &str, image: &str, pod: &PodPlan) -> Value {
    let mut limits = Map::new();
    limits.insert("cpu".into(), Value::String(pod.cpu.clone()));
    limits.insert("memory".into(), Value::String(pod.memory.clone()));
    let requests = limits.clone();
    if pod.gpu > 0 {
        // Extended resources need no request (it defaults to the limit).
        limits.insert("nvidia.com/gpu".into(), Value::String(pod.gpu.to_string()));
    }
    json!({
        "spec": {
            "containers": [{
                "name": container,
                "image": image,
                "resources": {"limits": limits, "requests": requests},
            }]
        }
    })
}

/// `rayservice.yaml`, or `None` without `[kuberay]`.
pub fn render(plan: &Plan, serve_yaml: &str) -> Option<String> {
    let kuberay = plan.kuberay.as_ref()?;
    Some(format!(
        "# {}\n{}",
        super::header(plan),
        serve_yaml::to_yaml_with_literal_blocks(&to_value(kuberay, serve_yaml))
    ))
}
