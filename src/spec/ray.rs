//! What bentoray knows about Ray Serve by version: the version type, and the
//! availability record every option carries in the option tables (declared
//! with [`ray_options!`] in `types.rs`, next to the option's type, bounds and
//! documentation). The schema, the version rules and the README's option
//! table are all derived from those declarations.
//!
//! Facts come from Ray's `serve/schema.py`, `serve/config.py`,
//! `serve/_private/config.py` and `serve/batching.py` of the covered
//! releases (see `../shared/reference/ray-serve.md`). Releases that were not
//! examined (e.g. 2.13–2.19, 2.58–2.59) are taken to match the nearest
//! examined release before them.

use std::fmt;

/// A Ray release `MAJOR.MINOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RayVersion {
    pub major: u32,
    pub minor: u32,
}

/// Shorthand for writing versions in tables.
pub const fn v(major: u32, minor: u32) -> RayVersion {
    RayVersion { major, minor }
}

impl fmt::Display for RayVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl serde::Serialize for RayVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl RayVersion {
    /// Parses `MAJOR.MINOR`.
    pub fn parse(text: &str) -> Option<RayVersion> {
        let (major, minor) = text.split_once('.')?;
        Some(v(major.parse().ok()?, minor.parse().ok()?))
    }
}

/// Oldest Ray release bentoray targets (the oldest `bentoml.ray` works with).
pub const OLDEST_RAY: RayVersion = v(2, 6);
/// Newest Ray release bentoray knows; the default target.
pub const NEWEST_RAY: RayVersion = v(2, 60);

/// Which table of the spec an option belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum OptionTable {
    /// `[ray]`: top level of the serve config.
    Ray,
    /// `[ray.http_options]`.
    HttpOptions,
    /// `logging_config` tables.
    Logging,
    /// `[application]`.
    Application,
    /// `[service]`, `[runners.<runner>]` and `[services.<Service>]`.
    Deployment,
    /// `ray_actor_options`.
    ActorOptions,
    /// `autoscaling_config`.
    Autoscaling,
    /// `[batching.<runner>.<method>]` and `[batching.<Service>.<api>]`.
    Batching,
    /// A `runtime_env` table (`[application]` or `ray_actor_options`).
    RuntimeEnv,
    /// `pip` of a runtime_env, written as a table.
    RuntimeEnvPip,
    /// `uv` of a runtime_env, written as a table.
    RuntimeEnvUv,
    /// `config` of a runtime_env.
    RuntimeEnvConfig,
}

impl OptionTable {
    /// Where the table is written in a spec, for messages.
    pub fn place(self) -> &'static str {
        match self {
            OptionTable::Ray => "[ray]",
            OptionTable::HttpOptions => "[ray.http_options]",
            OptionTable::Logging => "a `logging_config` table",
            OptionTable::Application => "[application]",
            OptionTable::Deployment => {
                "a deployment table ([service], [runners.<runner>] or [services.<Service>])"
            }
            OptionTable::ActorOptions => "`ray_actor_options`",
            OptionTable::Autoscaling => "`autoscaling_config`",
            OptionTable::Batching => "[batching.<runner>.<method>] or [batching.<Service>.<api>]",
            OptionTable::RuntimeEnv => "a `runtime_env` table",
            OptionTable::RuntimeEnvPip => "a runtime_env's `pip` table",
            OptionTable::RuntimeEnvUv => "a runtime_env's `uv` table",
            OptionTable::RuntimeEnvConfig => "a runtime_env's `config` table",
        }
    }
}

/// When an option exists in Ray Serve, what replaced it, and its default by
/// version.
#[derive(Debug, Clone, Copy)]
pub struct Availability {
    /// First release with the option.
    pub since: RayVersion,
    /// Last release with the option (`None`: still present).
    pub until: Option<RayVersion>,
    /// What to use instead once it is gone.
    pub replaced_by: Option<&'static str>,
    /// `(from release, default)`: the default that applies from each release on.
    pub defaults: &'static [(RayVersion, &'static str)],
    /// Whether Ray's schema accepts `null` for it (bentoray never emits
    /// `null`: TOML has none, and unset options are omitted).
    pub nullable: bool,
    /// Whether the option is bentoray's own rather than Ray's.
    pub bentoray_only: bool,
}

impl Availability {
    /// Present in every release bentoray targets.
    pub const ALWAYS: Availability = Availability::since(2, 0);

    pub const fn since(major: u32, minor: u32) -> Availability {
        Availability {
            since: v(major, minor),
            until: None,
            replaced_by: None,
            defaults: &[],
            nullable: false,
            bentoray_only: false,
        }
    }

    /// Ray's schema accepts `null` for this option.
    pub const fn nullable(mut self) -> Availability {
        self.nullable = true;
        self
    }

    /// Last release that has the option.
    pub const fn until(mut self, major: u32, minor: u32) -> Availability {
        self.until = Some(v(major, minor));
        self
    }

    pub const fn replaced_by(mut self, what: &'static str) -> Availability {
        self.replaced_by = Some(what);
        self
    }

    pub const fn defaults(
        mut self,
        defaults: &'static [(RayVersion, &'static str)],
    ) -> Availability {
        self.defaults = defaults;
        self
    }

    pub const fn bentoray() -> Availability {
        let mut a = Availability::ALWAYS;
        a.bentoray_only = true;
        a
    }

    pub fn exists_in(&self, version: RayVersion) -> bool {
        version >= self.since && self.until.is_none_or(|last| version <= last)
    }

    /// The default that applies in `version`, if recorded.
    pub fn default_in(&self, version: RayVersion) -> Option<&'static str> {
        self.defaults
            .iter()
            .rev()
            .find(|(from, _)| *from <= version)
            .map(|(_, d)| *d)
    }
}

/// One row of an option table.
#[derive(Debug, Clone, Copy)]
pub struct RayOption {
    pub table: OptionTable,
    pub key: &'static str,
    pub availability: Availability,
}

/// A value of an option that only some releases accept, such as
/// `num_replicas = "auto"`.
#[derive(Debug, Clone, Copy)]
pub struct ValueFeature {
    pub table: OptionTable,
    pub key: &'static str,
    pub value: &'static str,
    pub availability: Availability,
}

/// Option values that appeared in a later release than their option.
pub const VALUE_FEATURES: &[ValueFeature] = &[
    ValueFeature {
        table: OptionTable::Deployment,
        key: "num_replicas",
        value: "auto",
        availability: Availability::since(2, 10),
    },
    ValueFeature {
        table: OptionTable::Ray,
        key: "proxy_location",
        value: "Disabled",
        // 2.4–2.6 used DeploymentMode, whose "no proxy" value is `NoServer`.
        availability: Availability::since(2, 7),
    },
];

/// Declares an option table: a serde/schemars struct whose fields are all
/// optional, plus its availability rows (`<Struct>::OPTIONS`). Each field is
/// written once:
///
/// ```text
/// /// doc comment (becomes the schema description)
/// #[schemars(...)]           // bounds
/// field: Type => Availability::since(2, 10).defaults(&[...]),
/// ```
macro_rules! ray_options {
    (
        $(#[$smeta:meta])*
        pub struct $name:ident in $table:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty => $avail:expr
            ),* $(,)?
        }
    ) => {
        $(#[$smeta])*
        #[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }

        impl $name {
            /// This table's options and when each exists in Ray Serve.
            pub const OPTIONS: &'static [$crate::spec::ray::RayOption] = &[
                $($crate::spec::ray::RayOption {
                    table: $crate::spec::ray::OptionTable::$table,
                    key: stringify!($field),
                    availability: $avail,
                }),*
            ];
        }
    };
}
pub(crate) use ray_options;

/// Where a `working_dir` or `py_modules` entry of a runtime_env may point.
/// Ray Serve configs take URIs only (`ServeDeploySchema`'s
/// `runtime_env_contains_remote_uris`, then `RuntimeEnv` validation when the
/// controller starts the build task and the replicas): a plain path is
/// rejected. Facts from `_private/runtime_env/{packaging,protocol,validation}.py`
/// and `_common/runtime_env_uri.py` of Ray 2.6, 2.10, 2.20, 2.31, 2.35, 2.40,
/// 2.46, 2.50, 2.55, 2.56, 2.57 and 2.60.
pub mod uri {
    use super::{RayVersion, v};

    /// URI schemes and the first release that accepts each.
    pub const SCHEMES: &[(&str, RayVersion)] = &[
        ("gcs", v(2, 0)),
        ("conda", v(2, 0)),
        ("pip", v(2, 0)),
        ("https", v(2, 0)),
        ("s3", v(2, 0)),
        ("gs", v(2, 0)),
        ("file", v(2, 0)),
        ("uv", v(2, 40)),
        ("azure", v(2, 50)),
        ("abfss", v(2, 50)),
        ("http", v(2, 56)),
        // A directory already on every node, used in place (ray#65245).
        ("local", v(2, 60)),
    ];

    /// Schemes whose URIs name a downloadable package, which must have an
    /// archive extension.
    pub fn is_remote(scheme: &str, target: RayVersion) -> bool {
        matches!(scheme, "https" | "s3" | "gs" | "file" | "azure" | "abfss" | "http")
            // Ray-managed uploads are only checked from 2.60.
            || (scheme == "gcs" && target >= v(2, 60))
    }

    /// The archive extensions a remote `working_dir` (or `py_modules` entry,
    /// when `py_modules` is true) must end with on `target`.
    pub fn extensions(py_modules: bool, target: RayVersion) -> &'static [&'static str] {
        if target >= v(2, 60) {
            if py_modules {
                &[".zip", ".whl", ".tar.gz", ".tgz", ".tar.xz"]
            } else {
                &[".zip", ".tar.gz", ".tgz", ".tar.xz"]
            }
        } else if target >= v(2, 56) {
            &[".zip", ".whl", ".tar.gz", ".tgz"]
        } else {
            &[".zip", ".whl"]
        }
    }

    /// Archive extensions a `local://` directory must not have.
    pub const LOCAL_NOT_ARCHIVE: &[&str] = &[".zip", ".whl", ".tar.gz", ".tgz", ".tar.xz"];

    /// From this release `container` and `image_uri` may be combined with
    /// `env_vars` (before, only with `config`).
    pub const IMAGE_WITH_ENV_VARS: RayVersion = v(2, 40);

    /// From this release `uv` exists and is exclusive with `pip` and `conda`.
    pub const UV: RayVersion = v(2, 40);
}
