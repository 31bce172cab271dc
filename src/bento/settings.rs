//! A service's BentoML settings (`resources`, `workers`, `traffic` of its
//! `config`) as typed values: the quantities BentoML accepts (`"500m"`
//! CPUs, `"512Mi"` of memory, ...) parsed here, once, so that the check
//! stage maps numbers, never strings, to Ray options.
//!
//! Facts from BentoML 1.4.40 (`_bentoml_sdk/service/config.py`'s
//! `ResourceSchema` and `TrafficSchema`, `bentoml/_internal/resource.py`,
//! `_bentoml_impl/server/app.py`): `cpu` is a number of cores or a string of
//! cores or millicores (`"100m"`); `memory` is a string with a unit
//! (`"512Mi"`, `"2Gi"`) or a plain number of gibibytes (BentoML's default
//! unit); `gpu` a positive number; `workers` a positive integer or
//! `"cpu_count"`; `traffic.timeout` positive seconds and
//! `traffic.max_concurrency` a positive integer.

use std::borrow::Cow;

use serde_json::Value;

use super::Unit;

/// The largest quantity bentoray writes: Ray stores resources as fixed-point
/// integers (units of 0.0001), and 2^53 keeps every value exact in JSON,
/// YAML and Python floats.
const MAX_QUANTITY: f64 = 9_007_199_254_740_992.0;
const GIB: f64 = 1_073_741_824.0;

/// One setting with how it was written and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting<T> {
    pub value: T,
    /// The key and value as the bento has them: `resources.cpu = "500m"`.
    pub written: String,
    /// `bento.yaml` or `@bentoml.service in src/x.py:12`.
    pub from: Cow<'static, str>,
}

impl<T> Setting<T> {
    /// `` `resources.cpu = "500m"` (bento.yaml) ``, for messages.
    pub fn describe(&self) -> String {
        format!("`{}` ({})", self.written, self.from)
    }
}

/// `workers`: a count, or BentoML's `"cpu_count"` (one worker per CPU of
/// the machine, decided where the service starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workers {
    Count(u32),
    CpuCount,
}

/// A setting bentoray maps but cannot read.
#[derive(Debug, Clone, PartialEq)]
pub struct Malformed {
    /// `resources.cpu`.
    pub key: &'static str,
    pub written: String,
    pub from: Cow<'static, str>,
    /// What a valid value looks like.
    pub why: String,
}

/// The settings of one service that map to Ray options. `None`: not set, or
/// not a literal in the source (unknown; Ray's default then applies).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceSettings {
    /// CPUs per worker.
    pub cpu: Option<Setting<f64>>,
    /// Bytes of memory.
    pub memory: Option<Setting<u64>>,
    pub gpu: Option<Setting<f64>>,
    /// BentoML's GPU type name (`nvidia-tesla-t4`).
    pub gpu_type: Option<Setting<String>>,
    pub workers: Option<Setting<Workers>>,
    pub max_concurrency: Option<Setting<u64>>,
    /// Seconds.
    pub timeout: Option<Setting<f64>>,
    pub external_queue: Option<Setting<bool>>,
    pub malformed: Vec<Malformed>,
}

/// Reads the settings of a service unit.
pub fn service_settings(unit: &Unit) -> ServiceSettings {
    let mut out = ServiceSettings::default();
    let section = |name: &str| {
        unit.config
            .get(name)
            .and_then(|s| Some((s.value.as_ref()?, s.from.clone())))
    };
    if let Some((resources, from)) = section("resources") {
        let field = |key: &str| resources.get(key);
        read(
            &mut out,
            "resources.cpu",
            field("cpu"),
            from.clone(),
            cpus,
            |o, s| o.cpu = Some(s),
        );
        read(
            &mut out,
            "resources.memory",
            field("memory"),
            from.clone(),
            memory_bytes,
            |o, s| o.memory = Some(s),
        );
        read(
            &mut out,
            "resources.gpu",
            field("gpu"),
            from.clone(),
            gpus,
            |o, s| o.gpu = Some(s),
        );
        read(
            &mut out,
            "resources.gpu_type",
            field("gpu_type"),
            from.clone(),
            |v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| "a GPU type name such as \"nvidia-tesla-t4\"".to_string())
            },
            |o, s| o.gpu_type = Some(s),
        );
    }
    if let Some(s) = unit.config.get("workers")
        && let Some(value) = &s.value
    {
        read(
            &mut out,
            "workers",
            Some(value),
            s.from.clone(),
            workers,
            |o, s| o.workers = Some(s),
        );
    }
    if let Some((traffic, from)) = section("traffic") {
        let field = |key: &str| traffic.get(key);
        read(
            &mut out,
            "traffic.max_concurrency",
            field("max_concurrency"),
            from.clone(),
            positive_integer,
            |o, s| o.max_concurrency = Some(s),
        );
        read(
            &mut out,
            "traffic.timeout",
            field("timeout"),
            from.clone(),
            seconds,
            |o, s| o.timeout = Some(s),
        );
        read(
            &mut out,
            "traffic.external_queue",
            field("external_queue"),
            from.clone(),
            |v| v.as_bool().ok_or_else(|| "true or false".to_string()),
            |o, s| o.external_queue = Some(s),
        );
    }
    out
}

/// Parses one field into `out`, or records it as malformed. A `null` (YAML
/// `~`, Python `None`) is BentoML's "not set".
fn read<T>(
    out: &mut ServiceSettings,
    key: &'static str,
    value: Option<&Value>,
    from: Cow<'static, str>,
    parse: impl Fn(&Value) -> Result<T, String>,
    store: impl FnOnce(&mut ServiceSettings, Setting<T>),
) {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return;
    };
    let written = format!("{key} = {value}");
    match parse(value) {
        Ok(parsed) => store(
            out,
            Setting {
                value: parsed,
                written,
                from,
            },
        ),
        Err(why) => out.malformed.push(Malformed {
            key,
            written,
            from,
            why,
        }),
    }
}

/// A plain decimal: digits with an optional fraction, no sign, exponent,
/// spaces, `inf` or `nan` (what `str::parse::<f64>` would also take).
fn decimal(text: &str) -> Option<f64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    text.parse().ok().filter(|x: &f64| x.is_finite())
}

/// A positive finite number within [`MAX_QUANTITY`].
fn positive(x: f64, what: &str) -> Result<f64, String> {
    if !x.is_finite() || x <= 0.0 {
        Err(format!("{what}, greater than 0"))
    } else if x > MAX_QUANTITY {
        Err(format!("{what}, at most 2^53"))
    } else {
        Ok(x)
    }
}

/// Ray's resource precision: at most 4 decimal places.
fn within_precision(x: f64, what: &str) -> Result<f64, String> {
    let scaled = x * 10_000.0;
    if (scaled - scaled.round()).abs() > 1e-6 * scaled.abs().max(1.0) {
        Err(format!(
            "{what} with at most 4 decimal places (Ray's resource precision)"
        ))
    } else {
        Ok(x)
    }
}

const CPU_FORM: &str = "a number of CPU cores (`2`, `1.5`, `\"2\"`) or of millicores (`\"500m\"`)";

/// `resources.cpu` as a number of cores: `2`, `1.5`, `"2"`, `"0.5"`,
/// `"500m"` (millicores).
pub fn cpus(value: &Value) -> Result<f64, String> {
    let cores = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.strip_suffix('m') {
            // Millicores are whole, as in Kubernetes.
            Some(milli) if !milli.contains('.') => decimal(milli).map(|m| m / 1000.0),
            Some(_) => None,
            None => decimal(s),
        },
        _ => None,
    }
    .ok_or_else(|| CPU_FORM.to_string())?;
    within_precision(positive(cores, CPU_FORM)?, CPU_FORM)
}

const MEMORY_FORM: &str = "an amount of memory with a unit (`\"512Mi\"`, `\"2Gi\"`, `\"1G\"`, `\"1500M\"`) or a plain number of gibibytes (`2`, BentoML's unit)";

/// Binary then decimal suffixes (Kubernetes' quantity suffixes for bytes).
const MEMORY_UNITS: &[(&str, f64)] = &[
    ("Ki", 1024.0),
    ("Mi", 1_048_576.0),
    ("Gi", GIB),
    ("Ti", 1_099_511_627_776.0),
    ("Pi", 1_125_899_906_842_624.0),
    ("Ei", 1_152_921_504_606_846_976.0),
    ("k", 1e3),
    ("K", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("P", 1e15),
    ("E", 1e18),
];

/// `resources.memory` in bytes (rounded up to a whole byte): `"2Gi"`,
/// `"512Mi"`, `"1G"`, `"1500M"`, or a plain number (`2`, `"2"`, `1.5`) of
/// gibibytes, BentoML's default unit.
pub fn memory_bytes(value: &Value) -> Result<u64, String> {
    let bytes = match value {
        Value::Number(n) => n.as_f64().map(|gib| gib * GIB),
        Value::String(s) => MEMORY_UNITS
            .iter()
            .find_map(|(unit, scale)| Some(decimal(s.strip_suffix(unit)?)? * scale))
            .or_else(|| decimal(s).map(|gib| gib * GIB)),
        _ => None,
    }
    .ok_or_else(|| MEMORY_FORM.to_string())?;
    let bytes = positive(bytes, MEMORY_FORM)?.ceil();
    // `positive` bounds it by 2^53, which u64 holds exactly.
    Ok(bytes as u64)
}

const GPU_FORM: &str = "a number of GPUs (`1`, `0.5`)";

/// `resources.gpu`: a positive number.
pub fn gpus(value: &Value) -> Result<f64, String> {
    let n = value.as_f64().ok_or_else(|| GPU_FORM.to_string())?;
    within_precision(positive(n, GPU_FORM)?, GPU_FORM)
}

const WORKERS_FORM: &str = "a positive integer or \"cpu_count\"";

/// `workers`: a positive integer or `"cpu_count"`.
pub fn workers(value: &Value) -> Result<Workers, String> {
    match value {
        Value::String(s) if s == "cpu_count" => Ok(Workers::CpuCount),
        Value::Number(n) => n
            .as_u64()
            .filter(|&n| n >= 1)
            .and_then(|n| u32::try_from(n).ok())
            .map(Workers::Count)
            .ok_or_else(|| WORKERS_FORM.to_string()),
        _ => Err(WORKERS_FORM.to_string()),
    }
}

/// A positive integer (`traffic.max_concurrency`), at most 2^32 - 1 (Ray's
/// limit for `max_ongoing_requests`).
pub fn positive_integer(value: &Value) -> Result<u64, String> {
    value
        .as_u64()
        .filter(|&n| n >= 1 && n <= u64::from(u32::MAX))
        .ok_or_else(|| "a positive integer (at most 4294967295)".to_string())
}

/// Positive seconds (`traffic.timeout`).
pub fn seconds(value: &Value) -> Result<f64, String> {
    const FORM: &str = "a number of seconds";
    positive(value.as_f64().ok_or_else(|| FORM.to_string())?, FORM)
}

/// Ray's accelerator type names for BentoML's `gpu_type` names, with the
/// first Ray release whose `ray/util/accelerators/accelerators.py` declares
/// each (read in Ray 2.7, 2.31 and 2.60; a name first seen in a later
/// release is dated by that release). Ray labels every node with the type of
/// its accelerators (`accelerator_type:<name>`), and `accelerator_type`
/// schedules a replica only on such nodes. `A100-80G` is a label Ray does not
/// add by itself ("you'll have to add them manually").
pub const ACCELERATORS: &[(&str, &str, (u32, u32))] = &[
    ("nvidia-tesla-t4", "T4", (2, 6)),
    ("nvidia-tesla-v100", "V100", (2, 6)),
    ("nvidia-tesla-p100", "P100", (2, 6)),
    ("nvidia-tesla-p4", "P4", (2, 6)),
    ("nvidia-tesla-k80", "K80", (2, 6)),
    ("nvidia-tesla-a100", "A100", (2, 6)),
    ("nvidia-a10g", "A10G", (2, 6)),
    ("nvidia-l4", "L4", (2, 31)),
    ("nvidia-a100-80gb", "A100-80G", (2, 31)),
    ("amd-mi300x", "AMD-Instinct-MI300X-OAM", (2, 31)),
    ("nvidia-tesla-h100", "H100", (2, 60)),
    ("nvidia-h100-80gb", "H100", (2, 60)),
    ("nvidia-h200-141gb", "H200", (2, 60)),
    ("nvidia-b200", "B200", (2, 60)),
    ("nvidia-gb200", "GB200", (2, 60)),
    ("nvidia-rtx-pro-6000", "RTX-PRO-6000", (2, 60)),
    ("amd-mi325x", "AMD-Instinct-MI325X-OAM", (2, 60)),
    ("amd-mi355x", "AMD-Instinct-MI355X-OAM", (2, 60)),
];

/// Ray's name for a BentoML GPU type, and the first release that has it.
pub fn accelerator(gpu_type: &str) -> Option<(&'static str, (u32, u32))> {
    ACCELERATORS
        .iter()
        .find(|(bentoml, _, _)| *bentoml == gpu_type)
        .map(|(_, ray, since)| (*ray, *since))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cpus_accept_bentoml_forms() {
        assert_eq!(cpus(&json!("2")), Ok(2.0));
        assert_eq!(cpus(&json!("500m")), Ok(0.5));
        assert_eq!(cpus(&json!("1500m")), Ok(1.5));
        assert_eq!(cpus(&json!("0.25")), Ok(0.25));
        assert_eq!(cpus(&json!(1.5)), Ok(1.5));
        assert_eq!(cpus(&json!(4)), Ok(4.0));
        assert_eq!(cpus(&json!("1m")), Ok(0.001));
    }

    #[test]
    fn cpus_reject_garbage_without_panicking() {
        for bad in [
            json!("abc"),
            json!(""),
            json!("m"),
            json!("-1"),
            json!(-1),
            json!(0),
            json!("0"),
            json!("NaN"),
            json!("nan"),
            json!("inf"),
            json!("1e3"),
            json!(" 2"),
            json!("2 "),
            json!("1.2.3"),
            json!("0.5m"),
            json!("2Gi"),
            json!("."),
            json!(true),
            json!(null),
            json!([1]),
            json!({"cpu": 1}),
            json!("0.00001"),
            json!(1e300),
            json!("9".repeat(400)),
            json!(format!("{}m", "9".repeat(400))),
            json!(u64::MAX),
        ] {
            assert!(cpus(&bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn memory_in_bytes() {
        assert_eq!(memory_bytes(&json!("2Gi")), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(memory_bytes(&json!("512Mi")), Ok(512 * 1024 * 1024));
        assert_eq!(memory_bytes(&json!("1G")), Ok(1_000_000_000));
        assert_eq!(memory_bytes(&json!("1500M")), Ok(1_500_000_000));
        assert_eq!(memory_bytes(&json!("64Ki")), Ok(65_536));
        assert_eq!(memory_bytes(&json!("0.5Gi")), Ok(536_870_912));
        // Plain numbers are gibibytes (BentoML's default unit).
        assert_eq!(memory_bytes(&json!(2)), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(memory_bytes(&json!(1.5)), Ok(1_610_612_736));
        assert_eq!(memory_bytes(&json!("1")), Ok(1024 * 1024 * 1024));
        // Rounded up to a whole byte.
        assert_eq!(memory_bytes(&json!("1.5k")), Ok(1500));
        assert_eq!(memory_bytes(&json!("0.0001k")), Ok(1));
    }

    #[test]
    fn memory_rejects_garbage_negatives_and_overflow() {
        for bad in [
            json!("lots"),
            json!("2GB"),
            json!("2gi"),
            json!("Gi"),
            json!("-1Gi"),
            json!(-2),
            json!(0),
            json!("0Mi"),
            json!("NaNGi"),
            json!("infGi"),
            json!("1e3Mi"),
            json!("8Ei"),
            json!("99999999999Pi"),
            json!(1e300),
            json!(format!("{}Ei", "9".repeat(400))),
            json!(true),
            json!(null),
            json!({}),
        ] {
            assert!(memory_bytes(&bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn gpus_workers_and_traffic() {
        assert_eq!(gpus(&json!(1)), Ok(1.0));
        assert_eq!(gpus(&json!(0.5)), Ok(0.5));
        for bad in [
            json!("1"),
            json!(0),
            json!(-1),
            json!(0.00001),
            json!(1e300),
        ] {
            assert!(gpus(&bad).is_err(), "{bad} accepted");
        }
        assert_eq!(workers(&json!(3)), Ok(Workers::Count(3)));
        assert_eq!(workers(&json!("cpu_count")), Ok(Workers::CpuCount));
        for bad in [
            json!(0),
            json!(-2),
            json!(2.5),
            json!("2"),
            json!(1u64 << 40),
        ] {
            assert!(workers(&bad).is_err(), "{bad} accepted");
        }
        assert_eq!(positive_integer(&json!(32)), Ok(32));
        assert!(positive_integer(&json!(0)).is_err());
        assert!(positive_integer(&json!(u64::MAX)).is_err());
        assert_eq!(seconds(&json!(30)), Ok(30.0));
        assert_eq!(seconds(&json!(0.5)), Ok(0.5));
        assert!(seconds(&json!(0)).is_err());
        assert!(seconds(&json!("30")).is_err());
    }

    #[test]
    fn accelerator_names_are_rays() {
        assert_eq!(accelerator("nvidia-tesla-t4"), Some(("T4", (2, 6))));
        assert_eq!(accelerator("nvidia-h100-80gb"), Some(("H100", (2, 60))));
        assert_eq!(accelerator("T4"), None);
    }
}
