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
    /// `[service]` and `[runners.<runner>]`.
    Deployment,
    /// `ray_actor_options`.
    ActorOptions,
    /// `autoscaling_config`.
    Autoscaling,
    /// `[batching.<runner>.<method>]`.
    Batching,
}

impl OptionTable {
    /// Where the table is written in a spec, for messages.
    pub fn place(self) -> &'static str {
        match self {
            OptionTable::Ray => "[ray]",
            OptionTable::HttpOptions => "[ray.http_options]",
            OptionTable::Logging => "a `logging_config` table",
            OptionTable::Application => "[application]",
            OptionTable::Deployment => "a deployment table ([service] or [runners.<runner>])",
            OptionTable::ActorOptions => "`ray_actor_options`",
            OptionTable::Autoscaling => "`autoscaling_config`",
            OptionTable::Batching => "[batching.<runner>.<method>]",
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
