//! `[kuberay]` lowered: the RayService's names, image and groups, with each
//! pod's Kubernetes quantities decided and the resources Ray sees on it
//! (what KubeRay passes to `ray start`), for the emitter and the capacity
//! check.

use indexmap::IndexMap;
use serde::Serialize;

use crate::check::RayVersion;
use crate::spec::types::{KubeRayHead, KubeRaySection, KubeRayWorkerGroup};

#[derive(Debug, Clone, Serialize)]
pub struct KubeRayPlan {
    /// `metadata.name`.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub image: String,
    /// `rayClusterConfig.rayVersion`: the target release, `MAJOR.MINOR.0`.
    pub ray_version: String,
    pub head: PodPlan,
    pub worker_groups: Vec<WorkerGroupPlan>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkerGroupPlan {
    pub name: String,
    pub replicas: u32,
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub pod: PodPlan,
}

/// One pod: its container's resources and `ray start` parameters.
#[derive(Debug, Clone, Serialize)]
pub struct PodPlan {
    /// A Kubernetes quantity: whole CPUs (`"4"`) or millicores (`"500m"`).
    pub cpu: String,
    /// A Kubernetes quantity as written (`"8Gi"`).
    pub memory: String,
    /// `nvidia.com/gpu`; 0 writes none.
    pub gpu: u32,
    pub ray_start_params: IndexMap<String, String>,
    /// What Ray schedules against on this pod.
    pub ray: NodeResources,
}

/// Resources of one Ray node.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NodeResources {
    pub cpus: f64,
    pub gpus: f64,
    /// Bytes.
    pub memory: f64,
}

pub fn lower(section: &KubeRaySection, target: RayVersion) -> KubeRayPlan {
    KubeRayPlan {
        name: section.name.clone(),
        namespace: section.namespace.clone(),
        image: section.image.clone(),
        ray_version: format!("{target}.0"),
        head: head_pod(&section.head),
        worker_groups: section.worker_groups.iter().map(worker_group).collect(),
    }
}

fn head_pod(head: &KubeRayHead) -> PodPlan {
    pod(
        head.cpu.as_f64().unwrap_or(0.0),
        &head.memory,
        head.gpu.unwrap_or(0),
        &head.ray_start_params,
    )
}

fn worker_group(group: &KubeRayWorkerGroup) -> WorkerGroupPlan {
    let min_replicas = group.min_replicas.unwrap_or(0);
    WorkerGroupPlan {
        name: group.name.clone(),
        replicas: group.replicas.unwrap_or(min_replicas),
        min_replicas,
        max_replicas: group.max_replicas,
        pod: pod(
            group.cpu.as_f64().unwrap_or(0.0),
            &group.memory,
            group.gpu.unwrap_or(0),
            &group.ray_start_params,
        ),
    }
}

fn pod(cpu: f64, memory: &str, gpu: u32, params: &IndexMap<String, String>) -> PodPlan {
    let millicores = (cpu * 1000.0).round() as u64;
    let param = |key: &str| params.get(key).and_then(|v| v.parse::<f64>().ok());
    PodPlan {
        cpu: if millicores.is_multiple_of(1000) {
            (millicores / 1000).to_string()
        } else {
            format!("{millicores}m")
        },
        memory: memory.to_string(),
        gpu,
        ray_start_params: params.clone(),
        // KubeRay's `generateRayStartCommand`: the container's limits,
        // rounded up (`Quantity.Value()`), unless rayStartParams sets them.
        ray: NodeResources {
            cpus: param("num-cpus").unwrap_or(millicores.div_ceil(1000) as f64),
            gpus: param("num-gpus").unwrap_or(f64::from(gpu)),
            memory: param("memory").unwrap_or_else(|| quantity_bytes(memory).unwrap_or(0.0)),
        },
    }
}

/// Bytes of a Kubernetes memory quantity (`8Gi`, `1.5G`, `512`), rounded up
/// as `Quantity.Value()` rounds; `None` for another form (the schema's
/// pattern allows none).
pub fn quantity_bytes(text: &str) -> Option<f64> {
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (number, unit) = SUFFIXES
        .iter()
        .find_map(|(s, m)| text.strip_suffix(s).map(|n| (n, *m)))
        .unwrap_or((text, 1.0));
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    number.parse::<f64>().ok().map(|n| (n * unit).ceil())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_as_kubernetes_reads_them() {
        assert_eq!(quantity_bytes("8Gi"), Some(8.0 * 1_073_741_824.0));
        assert_eq!(quantity_bytes("512Mi"), Some(536_870_912.0));
        assert_eq!(quantity_bytes("1.5G"), Some(1.5e9));
        assert_eq!(quantity_bytes("100"), Some(100.0));
        assert_eq!(quantity_bytes("1k"), Some(1000.0));
        assert_eq!(quantity_bytes("Gi"), None);
        assert_eq!(quantity_bytes("1e3"), None);
    }

    #[test]
    fn ray_sees_limits_rounded_up_unless_start_params_say() {
        let none = IndexMap::new();
        let p = pod(0.5, "2Gi", 0, &none);
        assert_eq!(p.cpu, "500m");
        assert_eq!(p.ray.cpus, 1.0);
        let p = pod(4.0, "16Gi", 1, &none);
        assert_eq!((p.cpu.as_str(), p.ray.cpus, p.ray.gpus), ("4", 4.0, 1.0));
        let params: IndexMap<String, String> = [("num-cpus".to_string(), "0".to_string())].into();
        assert_eq!(pod(2.0, "8Gi", 0, &params).ray.cpus, 0.0);
    }
}
