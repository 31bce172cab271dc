//! Whether the `[kuberay]` cluster can ever hold the deployments: a check
//! no other tool makes, on the lowered plan (every deployment of the bento,
//! with its final options; Ray's defaults where unset). Ray places each
//! replica on one node, so a replica bigger than every node never starts
//! (BR374); and the replicas together can never ask for more than all the
//! nodes at their groups' `maxReplicas` offer (BR375). Both are necessary
//! conditions, so a warning is always a real impossibility, never a guess
//! about packing.

use std::ops::Range;

use serde_json::{Map, Value};

use super::kuberay::{KubeRayPlan, NodeResources};
use super::{Plan, UnitRole};
use crate::check::{CheckOutput, Checked};
use crate::diagnostic::{Diagnostic, rules};
use crate::spec::spanned::Node;

/// Ray Serve's `max_replicas` for `num_replicas = "auto"` without one.
const AUTO_MAX_REPLICAS: u64 = 100;

/// One deployment as the cluster sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Demand {
    /// The Ray Serve deployment name.
    pub deployment: String,
    /// The spec table that configures it (`runners`, `services`, or
    /// `service` with no unit key), for the diagnostic's place.
    pub table: (&'static str, Option<String>),
    /// The most replicas it can run.
    pub replicas: u64,
    /// What each replica reserves.
    pub each: NodeResources,
}

/// Every deployment of the plan with its reservation: every unit (the API
/// server and every runner, or every service), configured or not:
/// unconfigured ones run with Ray's defaults.
pub fn demands(plan: &Plan) -> Vec<Demand> {
    plan.entrypoint
        .units
        .iter()
        .map(|unit| {
            let table = match unit.role {
                UnitRole::ApiServer => ("service", None),
                UnitRole::Runner => ("runners", Some(unit.name.clone())),
                UnitRole::Service { .. } => ("services", Some(unit.name.clone())),
            };
            demand(unit.deployment.clone(), table, &unit.options)
        })
        .collect()
}

fn demand(
    deployment: String,
    table: (&'static str, Option<String>),
    options: &Map<String, Value>,
) -> Demand {
    let number = |v: Option<&Value>| v.and_then(Value::as_f64);
    let autoscaling = options.get("autoscaling_config");
    let max_replicas = autoscaling
        .and_then(|a| a.get("max_replicas"))
        .and_then(Value::as_u64);
    let replicas = match options.get("num_replicas") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(1),
        Some(Value::String(_)) => max_replicas.unwrap_or(AUTO_MAX_REPLICAS),
        _ if autoscaling.is_some() => max_replicas.unwrap_or(1),
        _ => 1,
    };
    let actor = options.get("ray_actor_options");
    Demand {
        deployment,
        table,
        replicas,
        each: NodeResources {
            cpus: number(actor.and_then(|a| a.get("num_cpus"))).unwrap_or(1.0),
            gpus: number(actor.and_then(|a| a.get("num_gpus"))).unwrap_or(0.0),
            memory: number(actor.and_then(|a| a.get("memory"))).unwrap_or(0.0),
        },
    }
}

/// The cluster's node kinds at their largest: (what, how many, each).
fn nodes(kuberay: &KubeRayPlan) -> Vec<(String, u64, NodeResources)> {
    let mut out = vec![("the head".to_string(), 1, kuberay.head.ray)];
    for g in &kuberay.worker_groups {
        out.push((
            format!("group `{}`", g.name),
            u64::from(g.max_replicas),
            g.pod.ray,
        ));
    }
    out
}

/// Adds the capacity warnings to a check's output when its spec has
/// `[kuberay]` (lowering it first): what `bentoray check`, `build`, `plan`
/// and the language server report. `spec_name` as for [`super::lower`].
pub fn add_to(out: &mut CheckOutput, spec_name: &str) {
    if let Some(checked) = out.checked.as_ref().filter(|c| c.spec.kuberay.is_some()) {
        let plan = super::lower(checked, spec_name);
        out.report.diagnostics.extend(diagnostics(&plan, checked));
    }
}

/// The capacity warnings for a plan with `[kuberay]`.
pub fn diagnostics(plan: &Plan, checked: &Checked) -> Vec<Diagnostic> {
    let Some(kuberay) = &plan.kuberay else {
        return Vec::new();
    };
    let tree = &checked.tree;
    let cluster_span = tree
        .get("kuberay")
        .and_then(|k| k.entry("worker_groups"))
        .map(|e| e.key_span.clone())
        .or_else(|| tree.entry("kuberay").map(|e| e.key_span.clone()))
        .unwrap_or(0..0);
    let nodes = nodes(kuberay);
    let demands = demands(plan);
    let mut out = Vec::new();

    for d in demands.iter().filter(|d| d.replicas > 0) {
        let fits = nodes.iter().any(|(_, count, node)| {
            *count > 0
                && d.each.cpus <= node.cpus
                && d.each.gpus <= node.gpus
                && d.each.memory <= node.memory
        });
        if !fits {
            let offered: Vec<String> = nodes
                .iter()
                .filter(|(_, count, _)| *count > 0)
                .map(|(what, _, node)| format!("{what} {}", describe(node)))
                .collect();
            out.push(
                Diagnostic::new(
                    &rules::REPLICA_NEVER_FITS,
                    format!(
                        "a replica of `{}` reserves {}, more than any node of the cluster has",
                        d.deployment,
                        describe(&d.each)
                    ),
                )
                .at(table_span(tree, &d.table).unwrap_or(cluster_span.clone()))
                .label("never fits on one node")
                .help(format!(
                    "Ray places a replica on one node; the nodes have: {}. Give a worker group bigger pods, or lower `ray_actor_options`",
                    offered.join("; ")
                )),
            );
        }
    }

    type Pick = fn(&NodeResources) -> f64;
    let kinds: [(&str, Pick); 3] = [
        ("CPUs", |r| r.cpus),
        ("GPUs", |r| r.gpus),
        ("memory", |r| r.memory),
    ];
    for (kind, pick) in kinds {
        let capacity: f64 = nodes.iter().map(|(_, n, r)| *n as f64 * pick(r)).sum();
        let mut total = 0.0;
        let mut runs_out_at = None;
        let mut parts = Vec::new();
        for d in &demands {
            let asked = d.replicas as f64 * pick(&d.each);
            if asked == 0.0 {
                continue;
            }
            total += asked;
            parts.push(format!(
                "`{}` {} × {}",
                d.deployment,
                d.replicas,
                amount(kind, pick(&d.each))
            ));
            if total > capacity && runs_out_at.is_none() {
                runs_out_at = Some(d);
            }
        }
        let Some(at) = runs_out_at else {
            continue;
        };
        let offered: Vec<String> = nodes
            .iter()
            .filter(|(_, n, r)| *n > 0 && pick(r) > 0.0)
            .map(|(what, n, r)| format!("{what} {n} × {}", amount(kind, pick(r))))
            .collect();
        out.push(
            Diagnostic::new(
                &rules::CLUSTER_TOO_SMALL,
                format!(
                    "the deployments can reserve {}, but the cluster has {} at its largest: it runs out at `{}`",
                    quantity(kind, total),
                    quantity(kind, capacity),
                    at.deployment
                ),
            )
            .at(cluster_span.clone())
            .label(format!("{} at most", quantity(kind, capacity)))
            .help(format!(
                "reserved at most: {}; offered: {}. Raise a worker group's `max_replicas` or its pods' resources, or lower the deployments' replicas or `ray_actor_options`",
                parts.join(", "),
                if offered.is_empty() { "nothing".to_string() } else { offered.join(", ") }
            )),
        );
    }
    out
}

fn table_span(
    tree: &Node,
    (section, unit): &(&'static str, Option<String>),
) -> Option<Range<usize>> {
    match unit {
        Some(u) => tree.get(section)?.entry(u).map(|e| e.key_span.clone()),
        None => tree.entry(section).map(|e| e.key_span.clone()),
    }
}

fn describe(r: &NodeResources) -> String {
    format!(
        "{} CPUs, {} GPUs, {} memory",
        number(r.cpus),
        number(r.gpus),
        bytes(r.memory)
    )
}

/// `12 CPUs`, `2 GPUs`, `24 GiB of memory`.
fn quantity(kind: &str, value: f64) -> String {
    if kind == "memory" {
        format!("{} of memory", bytes(value))
    } else {
        let unit = if value == 1.0 {
            kind.trim_end_matches('s')
        } else {
            kind
        };
        format!("{} {unit}", number(value))
    }
}

fn amount(kind: &str, value: f64) -> String {
    if kind == "memory" {
        bytes(value)
    } else {
        number(value)
    }
}

fn number(x: f64) -> String {
    // Ray keeps 4 decimal places of a resource.
    let rounded = (x * 10_000.0).round() / 10_000.0;
    format!("{rounded}")
}

fn bytes(b: f64) -> String {
    const GIB: f64 = 1_073_741_824.0;
    const MIB: f64 = 1_048_576.0;
    if b >= GIB && (b / GIB).fract() == 0.0 {
        format!("{} GiB", b / GIB)
    } else if b >= MIB && (b / MIB).fract() == 0.0 {
        format!("{} MiB", b / MIB)
    } else if b >= GIB {
        format!("{:.1} GiB", b / GIB)
    } else {
        format!("{b} bytes")
    }
}
