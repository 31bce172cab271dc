//! The rule table: every diagnostic bentoray can emit, in one place.
//!
//! Adding a rule means adding one row here plus a CLI case under
//! `tests/cases/<case>/`; tests check that every row has a case that really
//! emits its code and that the README's rule list matches this table.

use super::Severity;

/// One diagnostic code with its documentation.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable code shown with every diagnostic, e.g. `BR102`.
    pub code: &'static str,
    /// Short kebab-case name.
    pub name: &'static str,
    pub severity: Severity,
    /// One line: what is wrong.
    pub summary: &'static str,
    /// Why it matters and how to fix it.
    pub doc: &'static str,
    /// The CLI case in `tests/cases/` that demonstrates this rule.
    pub case: &'static str,
}

use Severity::{Error, Note, Warning};

macro_rules! rules {
    ($($ident:ident = $code:literal $name:literal $sev:ident $case:literal
        summary $summary:literal doc $doc:literal;)*) => {
        $(pub static $ident: Rule = Rule {
            code: $code, name: $name, severity: $sev, summary: $summary, doc: $doc, case: $case,
        };)*
        /// All rules, in code order.
        pub static RULES: &[&Rule] = &[$(&$ident),*];
    };
}

rules! {
    TOML_SYNTAX = "BR001" "toml-syntax" Error "toml_syntax"
        summary "The spec is not valid TOML."
        doc "bentoray could not parse the file as TOML. The diagnostic points at the line and column where the parser stopped; fix the syntax there and run again.";
    UNREADABLE_SPEC = "BR002" "unreadable-spec" Error "missing_spec"
        summary "The spec file cannot be read."
        doc "The spec path does not exist, is not a file, or is not UTF-8. This is an I/O problem, so the exit code is 2.";

    UNKNOWN_KEY = "BR101" "unknown-key" Error "unknown_option"
        summary "A key that bentoray (and Ray Serve) does not know."
        doc "Since Ray 2.7 Ray Serve silently drops unknown keys, so a typo such as `num_replica` deploys with the default. bentoray rejects every unknown key, suggests the closest known name when one is close, and lists the valid names otherwise.";
    UNKNOWN_RUNNER = "BR102" "unknown-runner" Error "misspelled_runner"
        summary "A `[runners.<name>]` or `[batching.<name>]` table names a runner the bento does not have."
        doc "`bentoml.ray.deployment` silently ignores configuration for runners that do not exist, so the intended options never apply. The runner names come from the bento's `bento.yaml`.";
    UNKNOWN_METHOD = "BR103" "unknown-method" Error "misspelled_method"
        summary "A `[batching.<runner>.<method>]` table names a method the runner does not have."
        doc "Method names come from the model's signatures in `model.yaml`. A misspelled method is silently ignored by `bentoml.ray.deployment`, so batching keeps Ray's defaults.";
    INVALID_TYPE = "BR104" "invalid-type" Error "wrong_type"
        summary "A value has the wrong type."
        doc "Ray Serve's option types are fixed (integer, number, string, table, ...). Older Ray releases coerce some wrong types silently (`2.5` replicas becomes 2) and newer ones reject them, so bentoray requires the exact type.";
    OUT_OF_RANGE = "BR105" "out-of-range" Error "out_of_range"
        summary "A number is outside the bounds Ray Serve accepts."
        doc "For example `num_replicas` must be at least 1 and `batch_wait_timeout_s` at least 0. The bounds are Ray Serve's own (see the spec reference in the README).";
    INVALID_VALUE = "BR106" "invalid-value" Error "invalid_value"
        summary "A value is not one of the accepted values or has the wrong form."
        doc "Covers enumerations (`placement_group_strategy`, `proxy_location`, log levels), the `[ray] version` form, empty lists and values that TOML allows but YAML and Ray cannot carry (infinite or NaN numbers).";
    MISSING_KEY = "BR107" "missing-key" Error "missing_bento"
        summary "A required key is missing."
        doc "`bento` is the only required key: it names the bento to deploy.";
    SPEC_TOO_DEEP = "BR108" "spec-too-deep" Error "spec_too_deep"
        summary "The spec nests tables or arrays deeper than 64 levels."
        doc "No Ray Serve option nests anywhere near that deep, so such a spec is a mistake or hostile input. bentoray rejects it before validating, in time linear in the file: the TOML reader stops at 80 nested arrays or inline tables (or 80 dotted key parts), and the whole document may nest at most 64 levels.";

    INVALID_TAG = "BR201" "invalid-tag" Error "invalid_tag"
        summary "The `bento` value is not a valid BentoML tag."
        doc "Tags are `name` or `name:version`; each part is at most 63 characters of `[a-z0-9]([-._a-z0-9]*[a-z0-9])?` (BentoML lowercases before validating, so upper case is accepted and lowered).";
    BENTO_NOT_FOUND = "BR202" "bento-not-found" Error "bento_not_found"
        summary "The bento named by `bento` is not in the store, or the path does not exist."
        doc "Tags are looked up in `bentoml_home` (relative to the spec), else `$BENTOML_HOME`, else `~/bentoml`. The diagnostic names the store searched and the bentos or versions that are there.";
    AMBIGUOUS_VERSION = "BR203" "ambiguous-version" Error "ambiguous_version"
        summary "A version prefix matches more than one version of the bento."
        doc "BentoML accepts a unique version prefix (`iris_classifier:uips`). When several versions start with the prefix, write more of it; the diagnostic lists the matches.";
    BROKEN_BENTO = "BR204" "broken-bento" Error "broken_bento"
        summary "The bento's `bento.yaml` (or a model's `model.yaml`) cannot be read."
        doc "The file is missing, unreadable or not the YAML that BentoML writes. Rebuild the bento or point `bento` at a complete bento directory.";
    UNSUPPORTED_BENTO = "BR205" "unsupported-bento" Error "service_build"
        summary "`bentoray build` cannot compile the entrypoint of a new-style bento whose APIs or dependency attributes it cannot read."
        doc "The services entrypoint is compiled from the bento: every service's APIs (to call them by name through deployment handles and to batch the batchable ones) and the class attribute of every `bentoml.depends(Service)` (which it replaces with a client of that service's deployment). bentoray reads them from the bento's Python sources; when a service's class is not there or a dependency is not a plain class attribute, `build` stops before writing anything. Keep the service classes in the bento (`include` in bentofile.yaml) and write dependencies as `name = bentoml.depends(Service)`.";
    METHODS_UNKNOWN = "BR206" "methods-unknown" Warning "methods_unknown"
        summary "A runner's methods or a service's APIs, or whether one is batchable, cannot be known."
        doc "bentoray reads a custom runnable's methods (`@bentoml.Runnable.method`, `add_method`) and a service's APIs (`@bentoml.api`) from the bento's Python sources, literals only. When the class is not in the sources, a name is not a literal, or `batchable` / `batch_dim` / `max_batch_size` is an expression, the batching tables that depend on it are passed through unchecked; check them by hand, or write literals.";
    MODEL_NOT_FOUND = "BR207" "model-not-found" Warning "model_not_found"
        summary "A framework runner's model is neither in the bento nor in the model store."
        doc "Without the model's `model.yaml` the runner's methods are unknown. The deployment also needs the model at run time: import the bento (`bentoml import`) or point `bentoml_home` at the store that holds the model.";
    BENTO_ARCHIVE = "BR208" "bento-archive" Note "bento_archive"
        summary "The bento is a `.bento` export archive, which must be imported where it runs."
        doc "bentoray reads the archive's metadata directly, but `bentoml.ray.deployment` loads bentos by tag from the store of the machine that runs it. Import the archive (`bentoml import <file>.bento`) on every node, or bake it into the image, before deploying.";
    BENTO_YAML_TOO_DEEP = "BR209" "bento-yaml-too-deep" Error "bento_yaml_too_deep"
        summary "The bento's `bento.yaml` (or a model's `model.yaml`) nests deeper than 64 levels."
        doc "BentoML writes shallow YAML; a file with flow collections (`[`, `{`) nested deeper than 64 levels, or any nesting deeper than 128, was not written by BentoML. It is rejected before parsing (a linear scan), because YAML parsers slow down quadratically with flow nesting depth. Rebuild the bento.";
    BENTO_DIRECTORY = "BR215" "bento-directory" Note "bento_directory"
        summary "The bento is given as a directory, but Ray loads it by tag from a BentoML store."
        doc "bentoray reads the directory's metadata, but the generated entrypoint loads the pinned tag from the BentoML store (`BENTOML_HOME`) of the process that runs it: the one that builds the application with the default `EXPORT_BENTO`, every replica with `LOCAL_BENTO`. The directory itself is not used at run time. When it is inside a store (`<store>/bentos/<name>/<version>`), set `BENTOML_HOME` to that store where Ray runs; otherwise export it (`bentoml export`) and import it there (`bentoml import`).";

    PYTHON_SOURCE = "BR220" "python-source" Warning "python_source"
        summary "A Python source of the bento cannot be read or parsed."
        doc "bentoray parses the bento's `src/**/*.py` (with tree-sitter's Python grammar; never running them) to learn services, APIs and custom runnables. A file with a syntax error, not UTF-8, or over bentoray's size limits (1 MiB a file, 16 MiB and 10,000 files a bento) is skipped, and what it declares is unknown.";
    NOT_BATCHABLE = "BR301" "not-batchable" Error "not_batchable"
        summary "Batching options are set for a method or API that is not batchable."
        doc "Only batchable callables are wrapped with `serve.batch`: a runner method whose model signature has `batchable: true` (or a custom runnable method declared `@bentoml.Runnable.method(batchable=True)`), or a service API declared `@bentoml.api(batchable=True)`. Options for other callables would be silently dropped. Declare it batchable or remove the table.";
    BATCHING_DISABLED = "BR302" "batching-disabled" Warning "batching_disabled"
        summary "`[batching]` tables are present while `enable_batching` is false."
        doc "With batching disabled no method is wrapped with `serve.batch`, so these options have no effect. Set `enable_batching = true` or remove the tables.";
    REPLICAS_WITH_AUTOSCALING = "BR303" "replicas-with-autoscaling" Error "replicas_with_autoscaling"
        summary "An integer `num_replicas` is combined with `autoscaling_config`."
        doc "Ray Serve rejects this (\"Manually setting num_replicas is not allowed when autoscaling_config is provided\"). Remove `num_replicas`, or set it to \"auto\" to merge your autoscaling values over Ray's defaults.";
    AUTOSCALING_BOUNDS = "BR304" "autoscaling-bounds" Error "autoscaling_bounds"
        summary "Autoscaling replica bounds are out of order."
        doc "Ray Serve requires `min_replicas ≤ initial_replicas ≤ max_replicas` (and `min_replicas ≤ max_replicas`).";
    DEPLOYMENT_NAME = "BR305" "deployment-name" Error "deployment_name"
        summary "A deployment table sets `name`."
        doc "bentoray names the deployments exactly as `bentoml.ray.deployment` does (`bento-svc-<service>`, `bento-runner-<runner>`) so that the serve config overrides apply; with BentoML a `name` key fails with \"got multiple values for keyword argument 'name'\". Remove it.";
    ROUTE_PREFIX = "BR306" "route-prefix" Error "route_prefix"
        summary "The route prefix has a form Ray Serve rejects."
        doc "Ray Serve requires a route prefix that starts with `/`; from Ray 2.39 it also must not end with `/` (unless it is exactly `/`) nor contain `{` or `}`. bentoray applies the target release's rule.";
    ROUTE_PREFIX_LOWERED = "BR307" "route-prefix-lowered" Note "service_route_prefix"
        summary "`route_prefix` in `[service]` is moved to the application."
        doc "BentoML's docs put `route_prefix` in the service deployment config, but Ray Serve deprecated the deployment-level field in 2.7 and removed it in 2.39. bentoray writes it as the application's `route_prefix`, which works on every Ray release; move it to `[application]` to silence this note.";
    MISPLACED_ROUTE_PREFIX = "BR308" "misplaced-route-prefix" Error "runner_route_prefix"
        summary "`route_prefix` is set where it cannot apply, or twice."
        doc "Only the API server is exposed over HTTP, so a runner has no route prefix; and `[service] route_prefix` together with `[application] route_prefix` is ambiguous. Keep a single `[application] route_prefix`.";
    UNKNOWN_RAY_VERSION = "BR309" "unknown-ray-version" Error "unknown_ray_version"
        summary "`[ray] version` is outside the Ray releases bentoray knows."
        doc "bentoray knows Ray Serve 2.6 to 2.60. Pick a target in that range (MAJOR.MINOR), or leave `version` out to target the newest.";
    IMPORT_PATH = "BR310" "import-path" Error "import_path"
        summary "`[application] import_path` is not `<module>:<variable>` with Python identifiers."
        doc "bentoray writes the entrypoint as `<module>.py` exposing `<variable>`, so both parts must be plain Python identifiers (no dots, not keywords), e.g. `bento_ray:app`.";
    REMOVED_OPTION = "BR311" "removed-option" Error "removed_option"
        summary "An option that the target Ray release no longer has."
        doc "Since Ray 2.7 Ray Serve silently drops keys it does not know, so an option removed from Ray (e.g. `max_concurrent_queries`, removed in 2.33) deploys with the default instead. The diagnostic names the replacement: `max_concurrent_queries` → `max_ongoing_requests`, `target_num_ongoing_requests_per_replica` → `target_ongoing_requests`, deployment `route_prefix` → `[application] route_prefix`; `ray_actor_options.object_store_memory` has none (removed in 2.30).";
    OPTION_TOO_NEW = "BR312" "option-too-new" Error "option_too_new"
        summary "An option (or value) that the target Ray release does not have yet."
        doc "For example `num_replicas = \"auto\"` needs Ray 2.10 and `max_concurrent_batches` needs Ray 2.48. Older releases reject or silently ignore them. Raise `[ray] version` if the cluster is newer, or remove the option.";
    WRONG_LEVEL = "BR313" "wrong-level" Error "wrong_level"
        summary "A known option is in the wrong table."
        doc "Ray Serve silently ignores an option placed at the wrong level (ray#61439: `max_ongoing_requests` inside `autoscaling_config` leaves the default in force). The diagnostic names the table the option belongs to.";
    CPU_GPU_RESOURCES = "BR314" "cpu-gpu-resources" Error "resources"
        summary "`resources` names `CPU` or `GPU`."
        doc "Ray rejects `CPU` and `GPU` in custom resources at deploy time (\"Use the 'num_cpus' and 'num_gpus' keyword instead\"). Use `num_cpus` / `num_gpus`.";
    RESOURCE_PRECISION = "BR315" "resource-precision" Error "resources"
        summary "A resource quantity has more than 4 decimal places."
        doc "Ray's resource quantities have a precision of 0.0001; `num_cpus`, `num_gpus` and `resources` values with more decimals are rejected at deploy time.";
    STRATEGY_WITHOUT_BUNDLES = "BR316" "strategy-without-bundles" Error "placement_groups"
        summary "`placement_group_strategy` without `placement_group_bundles`."
        doc "Ray rejects this when the application deploys (\"If `placement_group_strategy` is provided, `placement_group_bundles` must also be provided\"), after `serve deploy` has already returned.";
    REPLICAS_PER_NODE_WITH_BUNDLES = "BR317" "replicas-per-node-with-bundles" Error "placement_groups"
        summary "`max_replicas_per_node` together with `placement_group_bundles`."
        doc "Ray does not allow both (\"Setting max_replicas_per_node is not allowed when placement_group_bundles is provided\"). Use one way to place replicas.";
    BUNDLE_TOO_SMALL = "BR318" "bundle-too-small" Error "placement_groups"
        summary "Bundle 0 of the placement group does not cover the replica's own resources."
        doc "The replica actor runs in the first bundle, so bundle 0 must hold at least its `num_cpus` (1 when unset), `num_gpus`, `memory` and custom `resources`; otherwise Ray fails the deployment (\"…must be a subset of the first bundle\").";
    BATCHES_NEVER_FILL = "BR319" "batches-never-fill" Warning "batches_never_fill"
        summary "A runner accepts fewer requests at once than one batch of a batched method holds."
        doc "`serve.batch` can only form batches from requests in flight on a replica, which `max_ongoing_requests` caps (default 5 since Ray 2.32, 100 before). Below `max_batch_size × max_concurrent_batches` batches never fill and every request waits for `batch_wait_timeout_s`. Raise `max_ongoing_requests` on the runner (and on the API server, which forwards the requests).";
    AUTOSCALING_NEVER_HAPPENS = "BR320" "autoscaling-never-happens" Warning "autoscaling_never_happens"
        summary "`max_ongoing_requests` is below the autoscaling `target_ongoing_requests`."
        doc "A replica never reaches the target load, so Ray never scales up (Ray only logs \"Autoscaling will never happen\"). Ray's docs advise `max_ongoing_requests` about 20–50% above `target_ongoing_requests`.";
    EXTERNAL_SCALER_AUTOSCALING = "BR321" "external-scaler-autoscaling" Error "external_scaler"
        summary "`external_scaler_enabled` together with a deployment that autoscales."
        doc "From Ray 2.53 an application with `external_scaler_enabled = true` may not contain a deployment with `autoscaling_config` or `num_replicas = \"auto\"`; Ray rejects the config.";
    BENTOML_ENTRYPOINT_RAY = "BR322" "bentoml-entrypoint-ray" Error "bentoml_entrypoint_ray"
        summary "`entrypoint = \"bentoml\"` targets a Ray release `bentoml.ray.deployment` cannot run on."
        doc "`bentoml.ray.deployment` imports a private Ray class that only Ray 2.6 and 2.7 have (bentoml#4270: it cannot even import on Ray 2.8+), and Ray 2.6–2.7 Serve needs Python ≤ 3.10. Set `[ray] version = \"2.7\"` (or 2.6) to deploy on such a cluster, or use the default `entrypoint = \"native\"`, which works on Ray 2.6–2.60.";
    BENTOML_BUG_A = "BR323" "bentoml-multi-method-runner" Warning "bentoml_bugs"
        summary "With `entrypoint = \"bentoml\"`, every method of a multi-method runner runs the runner's last method."
        doc "`bentoml.ray.deployment` builds runner methods in a loop whose closures bind late (bug A, all BentoML versions): calling `predict` on a runner with `predict` and `predict_proba` returns `predict_proba`'s result. Use the native entrypoint, or a runner with a single method.";
    BENTOML_BUG_B = "BR324" "bentoml-batching-lost" Warning "bentoml_bugs"
        summary "With `entrypoint = \"bentoml\"`, batching options reach only the bento's first runner."
        doc "`bentoml.ray.deployment` overwrites its `batching_config` while looping over the runners (bug B, all BentoML versions), so every runner after the first in the bento's runner order silently gets Ray's default batching. Use the native entrypoint.";
    USER_CONFIG_UNSUPPORTED = "BR325" "user-config-unsupported" Error "user_config"
        summary "`user_config` is set, but bento deployments have no `reconfigure` method."
        doc "Ray Serve passes `user_config` to a deployment's `reconfigure()` and fails replicas whose class has none (\"user_config specified but deployment … missing reconfigure method\"). Neither BentoML's nor bentoray's runner and API-server deployments define one, so the deployment would never become healthy. Remove `user_config`.";
    RUNTIME_ENV_URI = "BR326" "runtime-env-uri" Error "runtime_env"
        summary "A runtime_env `working_dir` or `py_modules` entry is not a URI the target Ray release accepts in a serve config."
        doc "Serve configs take only URIs there (\"runtime_envs in the Serve config support only remote URIs in working_dir and py_modules\"): a local path such as `./out` or `/abs/out` is rejected by `serve deploy`, `serve run` and KubeRay alike. Remote packages (`s3://`, `gs://`, `https://`, `file://`, …) must be archives: `.zip` or `.whl` up to Ray 2.55, also `.tar.gz`/`.tgz` from 2.56, and from 2.60 `.zip`/`.tar.gz`/`.tgz`/`.tar.xz` (plus `.whl` for `py_modules`). `local:///abs/dir` (a directory already on every node) needs Ray 2.60, an absolute path and no archive extension. Newer schemes (`uv://` 2.40, `azure://`/`abfss://` 2.50, `http://` 2.56) are rejected by older releases.";
    RUNTIME_ENV_PLUGIN = "BR327" "runtime-env-plugin" Warning "runtime_env_plugin"
        summary "A runtime_env key that is not a Ray runtime_env field: Ray treats it as a plugin and ignores it unless the cluster has that plugin."
        doc "Ray accepts any key in a runtime_env as a plugin field (custom plugins are installed with `RAY_RUNTIME_ENV_PLUGINS`). Without such a plugin the runtime-env agent only logs \"runtime_env field … is not recognized by Ray and will be ignored\" and the replicas start without it. A key close to a real field (`pipp` for `pip`) is an error instead (BR101). Remove the key, or keep it if your cluster installs a plugin of that name.";
    RUNTIME_ENV_CONFLICT = "BR328" "runtime-env-conflict" Error "runtime_env"
        summary "runtime_env fields that Ray does not allow together (after merging the application's runtime_env into a replica's)."
        doc "Ray rejects `pip`, `conda` and `uv` together (only one package manager), and allows `image_uri` or `container` only with `config` (and, from Ray 2.40, `env_vars`). A replica's runtime_env is the application's with the replica's keys replacing it, so `pip` in `[application]` and `conda` in `ray_actor_options` conflict too. bentoray always writes `env_vars` (the entrypoint hash) into the application's runtime_env, so before Ray 2.40 `image_uri` and `container` cannot be used at all. Ray reports these only when the application deploys, after `serve deploy` has returned.";
    BENTOML_HOME_RUNTIME = "BR329" "bentoml-home-runtime" Note "bentoml_home_runtime"
        summary "`bentoml_home` only tells bentoray where to read the bento; Ray loads it from `BENTOML_HOME` where it runs."
        doc "The generated entrypoint loads the pinned tag with `bentoml.load`, which reads the store named by `BENTOML_HOME` (default `~/bentoml`) of the process that runs it: with `EXPORT_BENTO` the process that builds the application (`serve run`'s Ray workers, the controller's build task), with `LOCAL_BENTO` every replica. bentoray does not write `bentoml_home` into the outputs, because a path on this machine is rarely a path on the cluster's nodes. Set `BENTOML_HOME` where Ray runs (e.g. `BENTOML_HOME=/abs/store serve run serve.yaml` locally, or `[application] runtime_env = { env_vars = { BENTOML_HOME = \"/store/on/nodes\" } }`, which silences this note).";
    IMPORT_PATH_SHADOWS = "BR330" "import-path-shadows" Error "import_path_shadows"
        summary "The `import_path` module would shadow a standard library module or a package the runtime imports."
        doc "Ray puts the application's working directory first on `sys.path`, so a generated `json.py` (or `ray.py`, `bentoml.py`, `starlette.py`, …) is imported instead of the real module everywhere in the application, which then fails in ways far from the cause. bentoray refuses every module name of the Python 3.10–3.13 standard library and of the packages installed with BentoML and Ray Serve (the list is `src/check/python_modules.txt`). Pick another module name, e.g. `bento_ray`.";

    UNKNOWN_SERVICE = "BR340" "unknown-service" Error "misspelled_service"
        summary "A `[services.<name>]` or `[batching.<name>]` table names a service the bento does not have."
        doc "A new-style bento's services are listed in its `bento.yaml` (`services[].name`, the name given to `@bentoml.service` or the class name). Options for a service that does not exist would never apply. The diagnostic suggests the closest name and lists the services.";
    UNKNOWN_API = "BR341" "unknown-api" Error "misspelled_api"
        summary "A `[batching.<service>.<api>]` table names an API the service does not have."
        doc "A service's APIs are its `@bentoml.api` and `@bentoml.task` methods, named by the method as BentoML keys them (a decorator's `name=` never renamed an API), read from the bento's Python sources and, for the entry service, `schema.routes` in `bento.yaml`.";
    WRONG_BENTO_KIND = "BR342" "wrong-bento-kind" Error "wrong_bento_kind"
        summary "A key or table that does not apply to this kind of bento (runners versus services)."
        doc "A legacy (runner-based) bento is configured with `[service]` (its API server), `[runners.<runner>]`, `[batching.<runner>.<method>]` and `enable_batching`. A new-style (`@bentoml.service`) bento is configured with `[services.<Service>]` and `[batching.<Service>.<api>]`; its APIs are batched as their author declared (as `bentoml serve` does), so `enable_batching` does not apply, and `entrypoint = \"bentoml\"` cannot serve it. The diagnostic says which tables apply.";
    MALFORMED_SETTING = "BR343" "malformed-bento-setting" Error "malformed_bento_setting"
        summary "A service's `resources`, `workers` or `traffic` setting in the bento is not a value BentoML accepts, so it cannot become a Ray option."
        doc "bentoray turns a new-style service's settings into Ray deployment defaults: `resources.cpu` (`2`, `1.5`, `\"2\"`, `\"500m\"` millicores) to `ray_actor_options.num_cpus`, `resources.memory` (`\"512Mi\"`, `\"2Gi\"`, `\"1G\"`, or a plain number of gibibytes, BentoML's unit) to `ray_actor_options.memory` in bytes, `resources.gpu` to `num_gpus`, `workers` (a positive integer) to `num_replicas`, `traffic.max_concurrency` (a positive integer) to `max_ongoing_requests`, the entry service's `traffic.timeout` (positive seconds) to `http_options.request_timeout_s`. A value of another form (a negative, zero, `\"lots\"`, more than 4 decimal places of CPUs or GPUs, more than 2^53) is an error at `bento` naming the service and where the value was written (`bento.yaml` or the `@bentoml.service` line). Fix the service and rebuild the bento, or set the Ray option in `[services.<Service>]`: then the bento's value is not used and this is a warning (BR344).";
    OVERRIDDEN_MALFORMED_SETTING = "BR344" "overridden-malformed-setting" Warning "overridden_malformed_setting"
        summary "A malformed bento setting is overridden by the spec, so it is not used."
        doc "The spec sets the Ray option that the service's malformed setting would map to (e.g. `ray_actor_options.num_cpus` over `resources.cpu = \"lots\"`), so the deployment is well defined and bentoray does not stop; the warning is at the spec's value. BentoML itself would reject the setting when serving the bento elsewhere: fix it in the service and rebuild.";
    UNKNOWN_GPU_TYPE = "BR345" "unknown-gpu-type" Warning "unknown_gpu_type"
        summary "A service's `resources.gpu_type` has no Ray accelerator name in the target release."
        doc "bentoray maps BentoML's GPU type names to Ray's accelerator names (`ray/util/accelerators/accelerators.py`): `nvidia-tesla-t4` → `T4`, `nvidia-tesla-a100` → `A100`, `nvidia-a100-80gb` → `A100-80G`, `nvidia-l4` → `L4` (Ray 2.31+), `nvidia-h100-80gb` → `H100` (2.60), and so on (the README lists them all). A name bentoray does not know, or one the target Ray release does not declare yet, is not mapped: `accelerator_type` is left unset and replicas may land on nodes with any accelerator. Set `ray_actor_options.accelerator_type` in `[services.<Service>]` (which silences this warning), or raise `[ray] version`.";
    WORKERS_CPU_COUNT = "BR346" "workers-cpu-count" Warning "workers_cpu_count"
        summary "A service has `workers = \"cpu_count\"`, which has no fixed number of Ray replicas."
        doc "BentoML starts one worker per CPU of the machine that serves the service; on Ray each replica is one worker, and the machine is not known in advance. bentoray leaves `num_replicas` at Ray's default (1), and since BentoML divides `traffic.max_concurrency` by that CPU count inside every replica, it does not derive `max_ongoing_requests` from it either. Set `num_replicas` (or `autoscaling_config`) in `[services.<Service>]`, which silences this warning, and `max_ongoing_requests` if the service has `max_concurrency`; or give `workers` a number in the service.";
    BENTOCLOUD_DEPENDENCY = "BR347" "bentocloud-dependency" Error "bentocloud_features"
        summary "A service depends on a BentoCloud deployment (`bentoml.depends(deployment=..., cluster=...)`), which does not exist on Ray."
        doc "`deployment=` and `cluster=` name a deployment on BentoCloud; BentoML resolves them through the BentoCloud API, which a Ray cluster does not have. Depend on a service in the bento (`bentoml.depends(Service)`, which becomes a Ray deployment handle) or on a URL (`bentoml.depends(url=...)`, called with BentoML's HTTP client), and rebuild the bento.";
    TASK_API = "BR348" "task-api" Error "task_api"
        summary "A service has a `@bentoml.task` API, which bentoray cannot serve on Ray."
        doc "`bentoml serve` runs a task in the background of the worker that accepted it and keeps its status and result in a SQLite file (`$BENTOML_HOME/task_result.db`, or `BENTOML_RESULT_STORE`) of that machine; `/submit` answers with a task id that `/status` and `/get` look up there. On Ray every replica of the service would have its own file on its own node, and Ray routes the `/status` request to any replica, so results are lost or not found (and a replica that scales down takes its running tasks with it). BentoML marks such services `traffic.external_queue: true` (BentoCloud's queue, which makes this work there). Serve the task API as a normal `@bentoml.api`, or run that service with `bentoml serve` / on BentoCloud.";
    EXTERNAL_QUEUE = "BR349" "external-queue" Error "bentocloud_features"
        summary "A service sets `traffic.external_queue`, a BentoCloud-only feature."
        doc "`traffic.external_queue = true` asks BentoCloud to queue the service's requests outside the service; neither `bentoml serve` nor Ray has such a queue, so the service would silently run without one. Remove it from the service and rebuild the bento (Ray queues requests per caller itself: `max_queued_requests`). BentoML writes it for every service with a `@bentoml.task` API; that case is reported once, as BR348.";
    TOP_LEVEL_KEY_IN_TABLE = "BR350" "top-level-key-in-table" Error "top_level_key_in_table"
        summary "A top-level key is written after a table header, so TOML puts it into that table."
        doc "In TOML a table runs until the next header: `[ray]` followed by `enable_batching = true` is `ray.enable_batching`, not the top-level `enable_batching`. This applies to every top-level key (`bento`, `bentoml_home`, `enable_batching`, `entrypoint`, `bento_serialization`, …) in any table; a `bento` caught this way also leaves the spec without its required `bento`. Move the line above the first table header. The JSON and SARIF output carry the move as a fix.";
    URL_DEPENDENCY = "BR360" "url-dependency" Note "url_dependency"
        summary "A service depends on a URL (`bentoml.depends(url=...)`): it is called over HTTP with BentoML's client, not through Ray."
        doc "Only dependencies on services of the bento become Ray deployment handles. A URL dependency keeps BentoML's HTTP client, so the address must be reachable from every replica of the service on the Ray cluster (not `127.0.0.1` unless that server runs on each node), and Ray neither routes nor scales it.";
    CLUSTER_WIDE_TIMEOUT = "BR361" "cluster-wide-timeout" Note "url_dependency"
        summary "The entry service's `traffic.timeout` becomes Ray's `http_options.request_timeout_s`, which is cluster-wide."
        doc "Ray Serve has no per-deployment request timeout: `http_options.request_timeout_s` applies to every application behind the cluster's HTTP proxies (a timed-out request gets HTTP 408), and only when Serve first starts on the cluster. bentoray writes the entry service's `traffic.timeout` there so that clients time out as with `bentoml serve`; BentoML's own timeout (HTTP 504) still applies inside every service. Set `[ray.http_options] request_timeout_s` to choose the cluster's value yourself, which silences this note.";
    ABOVE_BENTOML_CONCURRENCY = "BR362" "above-bentoml-concurrency" Warning "above_bentoml_concurrency"
        summary "`max_ongoing_requests` is above what BentoML itself admits per replica (`ceil(traffic.max_concurrency / workers)`): the excess gets HTTP 429."
        doc "BentoML enforces the service's `traffic.max_concurrency` inside every worker, divided by the number of workers (`MaxConcurrencyMiddleware(ceil(max_concurrency / workers))`), and answers 429 to requests above it. Each Ray replica is one BentoML worker, so with a higher `max_ongoing_requests` Ray sends requests that the replica rejects, instead of queueing them. Lower `max_ongoing_requests` to the limit (bentoray's default when the spec does not set it), or raise `max_concurrency` in the service.";
    API_NAME_RESERVED_BY_RAY = "BR365" "api-name-reserved-by-ray" Error "service_api_reserved_name"
        summary "An API of a service called through deployment handles has the name of one of Ray Serve's own deployment methods."
        doc "Each service other than the entry service is a Ray deployment with one method per API, called by name through a `DeploymentHandle`. Ray Serve calls some methods of a deployment itself (`reconfigure` with `user_config`, `check_health` for health checks, `__call__` by default, `__del__` at shutdown, `record_routing_stats`, `record_replica_metadata`, and `__init__` / `__serve_build_asgi_app__`), so an API with one of these names would be called by Ray or hide Ray's behaviour. `build` stops before writing anything; rename the API. The entry service's APIs are served through its HTTP app and may have any name.";
    KUBERAY_NAME = "BR370" "kuberay-name" Error "kuberay_name"
        summary "`[kuberay] name` is not a name KubeRay accepts for a RayService."
        doc "KubeRay's webhook and controller reject a RayService whose name is longer than 47 characters (53, the RayCluster limit, less the 6 characters of the suffix it appends) or is not a DNS-1035 label: lowercase letters, digits and `-`, starting with a letter and not ending with `-`. `kubectl apply` would create nothing that runs.";
    KUBERAY_REPLICAS = "BR371" "kuberay-replicas" Error "kuberay_replicas"
        summary "A worker group's `min_replicas`, `replicas` and `max_replicas` are out of order."
        doc "KubeRay's webhook rejects a worker group whose `minReplicas` is greater than its `maxReplicas`; a `replicas` outside `[min_replicas, max_replicas]` is silently clamped by the operator, so the cluster would not start with the pods written. Keep `min_replicas ≤ replicas ≤ max_replicas`.";
    KUBERAY_GROUP_NAME = "BR372" "kuberay-group-name" Error "kuberay_group_name"
        summary "Two worker groups have the same name."
        doc "KubeRay names a worker group's pods and scales it by `groupName`, so names must be unique within the cluster.";
    KUBERAY_RESOURCE = "BR373" "kuberay-resource" Error "kuberay_resource"
        summary "A head or worker resource Kubernetes or `ray start` cannot take."
        doc "Kubernetes' smallest CPU unit is 0.001 (`1m`), so `cpu` may have at most 3 decimal places. In `ray_start_params`, `num-cpus`, `num-gpus` and `memory` are numbers that `ray start` parses (counts of CPUs and GPUs, bytes of memory); anything else makes every pod of the group fail to start.";
    REPLICA_NEVER_FITS = "BR374" "replica-never-fits" Warning "replica_never_fits"
        summary "One replica of a deployment needs more CPU, GPU or memory than any node of the `[kuberay]` cluster has."
        doc "Ray places each replica on one node: a replica asking for more `num_cpus` (Ray's default is 1), `num_gpus` or `memory` than the head or any worker group's pod offers stays pending forever, and the application never becomes healthy. The node resources are what KubeRay passes to `ray start`: the container's CPU limit rounded up, its GPU limit and memory limit, unless `ray_start_params` sets them. Give a worker group bigger pods, or ask for less in `ray_actor_options`.";
    CLUSTER_TOO_SMALL = "BR375" "cluster-too-small" Warning "cluster_too_small"
        summary "The deployments can ask for more CPU, GPU or memory than the `[kuberay]` cluster has at its largest."
        doc "Each deployment can run `num_replicas` replicas (with autoscaling, up to `max_replicas`; `num_replicas = \"auto\"` up to 100), each reserving its `ray_actor_options` (Ray's default is 1 CPU). When their sum exceeds what the head and every worker group at `max_replicas` offer, some replicas can never be placed: the deployment the cluster runs out at is named. Raise `max_replicas` or the pods' resources, or lower the deployments'.";

    DEPLOYMENT_FAILED = "BR381" "deployment-failed" Error "cluster:deployment_failure_points_at_its_table"
        summary "`bentoray status`: a deployment of the application is DEPLOY_FAILED or UNHEALTHY on the cluster."
        doc "Ray reports a failed deployment by its Ray name (`bento-runner-iris_clf`) with a message, far from the spec. `bentoray status` maps the name back through the plan to the table that configured it (`[service]`, `[runners.<runner>]`, `[services.<Service>]`) and shows Ray's message as the help; a deployment without a table points at the `bento` value. Only a live cluster can show it: demonstrated by the test `deployment_failure_points_at_its_table` in tests/cluster.rs, against a fake dashboard serving Ray 2.60's recorded answers (and by scripts/e2e.sh `cluster` mode on a real one).";
    APPLICATION_FAILED = "BR382" "application-failed" Error "cluster:application_failure_points_at_application"
        summary "`bentoray status`: the application failed on the cluster before any of its deployments did."
        doc "An application fails as a whole when its import path cannot be imported or building it raises (a stale entrypoint, a bento missing from a node's store): Ray reports DEPLOY_FAILED for the application with no failed deployment. The diagnostic points at `[application]` (or the `bento` value) with Ray's message. Demonstrated by the test `application_failure_points_at_application` in tests/cluster.rs (fake dashboard).";
    CLUSTER_RAY_VERDICT = "BR383" "cluster-ray-verdict" Error "cluster:version_mismatch_changes_a_verdict"
        summary "`diff`/`deploy`: the cluster's Ray release is not the spec's `[ray] version`, and a verdict differs there."
        doc "bentoray checks a spec against its target Ray release. Before `diff` and `deploy` it checks the spec again with the cluster's release (from the dashboard's `/api/version`) as the target: an option unknown or invalid there, or a default the spec relies on that differs there (`max_ongoing_requests` before 2.32, `keep_alive_timeout_s` before 2.48, …), is an error, so nothing is deployed. Set `[ray] version` to the cluster's release. Demonstrated by the test `version_mismatch_changes_a_verdict` in tests/cluster.rs (fake dashboard).";
    REMOVED_OVERRIDE_STAYS = "BR384" "removed-override-stays" Warning "cluster:removed_override_stays_before_2_60"
        summary "`diff`/`deploy` on Ray before 2.60: an option removed from the spec stays in force on the cluster."
        doc "Before Ray 2.60, removing an option from a deployment's config does not restore the value in code: the previously deployed value stays in force (2.60 restores it: `restores_unset_config_options`). Set the option explicitly, to Ray's default to reset it. Demonstrated by the test `removed_override_stays_before_2_60` in tests/cluster.rs (fake dashboard of a Ray 2.59).";
    CLUSTER_RAY_UNKNOWN = "BR385" "cluster-ray-unknown" Warning "cluster:unknown_cluster_release_is_a_warning"
        summary "`diff`/`deploy`: bentoray cannot say whether its verdicts hold on the cluster's Ray release."
        doc "The dashboard reported a release outside the ones bentoray knows (or not a release number, e.g. a nightly), or the spec writes `ray` other than as a `[ray]` table (an inline table or dotted keys), so bentoray cannot check it again with the cluster's release as the target. Demonstrated by the test `unknown_cluster_release_is_a_warning` in tests/cluster.rs (fake dashboard).";
    ROUTE_PREFIX_TAKEN = "BR386" "route-prefix-taken" Error "cluster:route_prefix_taken_by_another_application"
        summary "`diff`/`deploy`: another application on the cluster already serves the spec's route prefix."
        doc "Ray Serve routes each prefix to one application: a config with two applications on one `route_prefix` is rejected as a whole, and an application deployed next to one that holds its prefix fails. Since `bentoray deploy` keeps the cluster's other applications, it checks their prefixes first and deploys nothing on a clash. Demonstrated by the test `route_prefix_taken_by_another_application` in tests/cluster.rs (fake dashboard).";
}

/// Looks a rule up by its code (`BR102`) or name (`unknown-runner`).
pub fn find(code_or_name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name == code_or_name)
}

/// The README's rule table, generated from `RULES` (a test keeps the README in sync).
pub fn markdown_table() -> String {
    let mut out = String::from("| Code | Name | Severity | Summary |\n|---|---|---|---|\n");
    for r in RULES {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.code,
            r.name,
            r.severity.as_str(),
            r.summary
        ));
    }
    out
}
