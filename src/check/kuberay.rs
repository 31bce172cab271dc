//! `[kuberay]` rules: what KubeRay's webhook and controller reject
//! (`ray-operator/controllers/ray/utils/validation.go`, KubeRay 1.7) and
//! what `ray start` cannot parse, checked before a manifest is written.
//! The capacity of the cluster against the deployments is a plan-level
//! check (`plan::capacity`): it needs every deployment's final options.

use crate::diagnostic::{Diagnostic, rules};
use crate::spec::spanned::{Node, NodeKind};

/// KubeRay's `MaxRayServiceNameLength`: the RayCluster limit (53) less the
/// 6 characters of the suffix the operator appends.
pub const MAX_NAME: usize = 47;

/// `ray start` parameters that take an integer (`--num-cpus`, `--num-gpus`,
/// `--memory` in bytes); KubeRay derives them from the container otherwise.
pub const INTEGER_START_PARAMS: &[&str] = &["num-cpus", "num-gpus", "memory"];

pub fn check(root: &Node, diags: &mut Vec<Diagnostic>) {
    let Some(kuberay) = root.get("kuberay") else {
        return;
    };
    if let Some(name) = kuberay.get("name")
        && let Some(text) = name.as_str()
        && let Some(why) = name_problem(text)
    {
        diags.push(
            Diagnostic::new(
                &rules::KUBERAY_NAME,
                format!("RayService name `{text}` {why}"),
            )
            .at(name.span.clone())
            .label("not a RayService name")
            .help(format!(
                "use at most {MAX_NAME} lowercase letters, digits and `-`, starting with a letter and not ending with `-` (e.g. `{}`)",
                suggested_name(text)
            )),
        );
    }
    if let Some(head) = kuberay.get("head") {
        resource_rules(head, "the head", diags);
    }
    let groups = match kuberay.get("worker_groups").map(|g| &g.kind) {
        Some(NodeKind::Array(items)) => items.as_slice(),
        _ => &[],
    };
    let mut seen: Vec<&str> = Vec::new();
    for group in groups {
        let name = group.get("name").and_then(|n| n.as_str().map(|s| (s, n)));
        let what = name.map_or("a worker group".to_string(), |(n, _)| {
            format!("worker group `{n}`")
        });
        if let Some((text, node)) = name {
            if seen.contains(&text) {
                diags.push(
                    Diagnostic::new(
                        &rules::KUBERAY_GROUP_NAME,
                        format!("two worker groups are named `{text}`"),
                    )
                    .at(node.span.clone())
                    .label("a second group of this name")
                    .help("give every worker group its own `name`"),
                );
            } else {
                seen.push(text);
            }
        }
        replica_rules(group, &what, diags);
        resource_rules(group, &what, diags);
    }
}

/// Why KubeRay rejects `name` (`IsDNS1035Label` and the length limit).
pub fn name_problem(name: &str) -> Option<String> {
    if name.len() > MAX_NAME {
        return Some(format!(
            "is {} characters long; KubeRay accepts at most {MAX_NAME}",
            name.len()
        ));
    }
    let bytes = name.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_lowercase) {
        return Some("must start with a lowercase letter (a DNS-1035 label)".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "has `{c}`; a DNS-1035 label holds only lowercase letters, digits and `-`"
        ));
    }
    if name.ends_with('-') {
        return Some("must not end with `-` (a DNS-1035 label)".into());
    }
    None
}

/// A DNS-1035 label close to `name`, for the help text.
fn suggested_name(name: &str) -> String {
    let mut out: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .skip_while(|c| !c.is_ascii_lowercase())
        .take(MAX_NAME)
        .collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "my-service".into()
    } else {
        out
    }
}

fn integer(node: Option<&Node>) -> Option<(i64, &Node)> {
    let node = node?;
    match node.kind {
        NodeKind::Integer(i) => Some((i, node)),
        _ => None,
    }
}

fn replica_rules(group: &Node, what: &str, diags: &mut Vec<Diagnostic>) {
    let min = integer(group.get("min_replicas"));
    let max = integer(group.get("max_replicas"));
    let replicas = integer(group.get("replicas"));
    let min_value = min.map_or(0, |(m, _)| m);
    if let (Some((lo, lo_node)), Some((hi, _))) = (min, max)
        && lo > hi
    {
        diags.push(
            Diagnostic::new(
                &rules::KUBERAY_REPLICAS,
                format!("{what} has `min_replicas = {lo}` greater than `max_replicas = {hi}`"),
            )
            .at(lo_node.span.clone())
            .label("greater than max_replicas")
            .help("KubeRay's webhook rejects the RayService: make `min_replicas ≤ max_replicas`"),
        );
        return;
    }
    if let Some((n, node)) = replicas {
        let hi = max.map(|(m, _)| m);
        let out_of_range = n < min_value || hi.is_some_and(|h| n > h);
        if out_of_range {
            let bounds = match hi {
                Some(h) => format!("[{min_value}, {h}]"),
                None => format!("[{min_value}, …]"),
            };
            diags.push(
                Diagnostic::new(
                    &rules::KUBERAY_REPLICAS,
                    format!("{what} starts with `replicas = {n}`, outside {bounds}"),
                )
                .at(node.span.clone())
                .label("outside min_replicas..max_replicas")
                .help("KubeRay clamps it into the range, so the cluster would not start as written: keep `min_replicas ≤ replicas ≤ max_replicas`"),
            );
        }
    }
}

fn resource_rules(group: &Node, what: &str, diags: &mut Vec<Diagnostic>) {
    if let Some(cpu) = group.get("cpu")
        && let NodeKind::Float(x) = cpu.kind
        && x.is_finite()
        && ((x * 1000.0).round() - x * 1000.0).abs() > 1e-6
    {
        diags.push(
            Diagnostic::new(
                &rules::KUBERAY_RESOURCE,
                format!("{what}'s `cpu = {x}` is finer than Kubernetes' smallest CPU unit, 0.001"),
            )
            .at(cpu.span.clone())
            .label("more than 3 decimal places")
            .help(format!("round it to 3 decimal places (`{:.3}`)", x)),
        );
    }
    let Some(params) = group.get("ray_start_params") else {
        return;
    };
    for entry in params.entries() {
        let Some(value) = entry.value.as_str() else {
            continue;
        };
        if INTEGER_START_PARAMS.contains(&entry.key.as_str())
            && (value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()))
        {
            diags.push(
                Diagnostic::new(
                    &rules::KUBERAY_RESOURCE,
                    format!(
                        "{what}'s `ray_start_params` `{}` = {value:?} is not a whole number, which `ray start --{}` requires",
                        entry.key, entry.key
                    ),
                )
                .at(entry.value.span.clone())
                .label("not a whole number")
                .help(if entry.key == "memory" {
                    "write the bytes as digits, e.g. `\"8589934592\"` for 8 GiB"
                } else {
                    "write a count as digits, e.g. `\"0\"` to keep Ray tasks off these pods"
                }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dns_1035_and_kuberays_length() {
        for ok in ["iris", "iris-classifier", "a1", &"a".repeat(47)] {
            assert_eq!(name_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "Iris",
            "1iris",
            "iris_clf",
            "iris-",
            "ir.is",
            &"a".repeat(48),
        ] {
            assert!(name_problem(bad).is_some(), "{bad}");
        }
        assert_eq!(suggested_name("Iris_Classifier"), "iris-classifier");
        assert_eq!(suggested_name("__9a_"), "a");
        assert_eq!(suggested_name(&"b".repeat(60)).len(), 47);
    }
}
