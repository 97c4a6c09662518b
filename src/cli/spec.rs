//! The one command table: every docker command Slipway understands, with its id, the backend it runs on, its
//! usage line, arity and flags, as `docker` prints them. The parser, the dispatch (`interpret`), completion and
//! help all read it; a flag the table declares is either implemented or refused by the parser with a reason.

/// A flag's long name. Flags are looked up by these constants (made only here), so a misspelt flag name does
/// not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Flag(&'static str);

macro_rules! flag_names {
    ($($id:ident = $long:literal),* $(,)?) => {
        impl Flag {
            $(pub const $id: Flag = Flag($long);)*
        }
    };
}

flag_names! {
    ALIAS = "alias", DRIVER = "driver", GATEWAY = "gateway", INTERNAL = "internal", NETWORK = "network",
    NETWORK_ALIAS = "network-alias", SUBNET = "subnet", VOLUME = "volume", MOUNT = "mount",
    ALL = "all", ALL_TAGS = "all-tags", ATTACH = "attach", BUILD_ARG = "build-arg", CONFIG = "config", CPUS = "cpus",
    DEBUG = "debug", DETACH = "detach", DIGESTS = "digests", ENTRYPOINT = "entrypoint", ENV = "env",
    ENV_FILE = "env-file", FILE = "file", FILTER = "filter", FOLLOW = "follow", FORCE = "force", FORMAT = "format", HELP = "help",
    HOST = "host", HOSTNAME = "hostname", HUMAN = "human", IMAGES = "images", INTERACTIVE = "interactive",
    LABEL = "label",
    LAST = "last", LATEST = "latest", LOG_LEVEL = "log-level", MEMORY = "memory", NAME = "name",
    NO_CACHE = "no-cache", NO_INTERPOLATE = "no-interpolate", NO_PRUNE = "no-prune", NO_TRUNC = "no-trunc",
    OUTPUT = "output", PASSWORD = "password", PASSWORD_STDIN = "password-stdin", PIDS_LIMIT = "pids-limit",
    PLATFORM = "platform", PROFILE = "profile", PROFILES = "profiles", PROGRESS = "progress",
    PROJECT_DIRECTORY = "project-directory", PROJECT_NAME = "project-name", PUBLISH = "publish", PULL = "pull",
    QUIET = "quiet", RM = "rm", SERVICES = "services", SIGNAL = "signal", SINCE = "since", SIZE = "size", TAG = "tag", TAIL = "tail", TARGET = "target", TIME = "time",
    BUILD = "build", RMI = "rmi", SCALE = "scale", NO_LOG_PREFIX = "no-log-prefix", NO_COLOR = "no-color",
    TIMESTAMPS = "timestamps", TTY = "tty", TYPE = "type", USER = "user", USERNAME = "username",
    VERBOSE = "verbose", VERSION = "version", VOLUMES = "volumes", WORKDIR = "workdir",
    CHECK = "check", TIMEOUT = "timeout", NO_STREAM = "no-stream", MEMORY_SWAP = "memory-swap",
    RESTART = "restart", CPU_SHARES = "cpu-shares", LIMIT = "limit", INSECURE = "insecure", AUTHOR = "author",
    CHANGE = "change", MESSAGE = "message", ANSI = "ansi", USE_ALIASES = "use-aliases", CAP_ADD = "cap-add",
    CAP_DROP = "cap-drop",
    FOLLOW_LINK = "follow-link", ARCHIVE = "archive", PAUSE = "pause",
    SECRET = "secret",
    HEALTH_CMD = "health-cmd", HEALTH_INTERVAL = "health-interval", HEALTH_TIMEOUT = "health-timeout",
    HEALTH_RETRIES = "health-retries", HEALTH_START_PERIOD = "health-start-period",
    HEALTH_START_INTERVAL = "health-start-interval", NO_HEALTHCHECK = "no-healthcheck",
    WAIT = "wait", WAIT_TIMEOUT = "wait-timeout",
    NO_BUILD = "no-build", IGNORE_BUILDABLE = "ignore-buildable", PUSH = "push",
    NO_TTY = "no-tty", INDEX = "index", PRIVILEGED = "privileged", NO_DEPS = "no-deps",
    SERVICE_PORTS = "service-ports", REMOVE_ORPHANS = "remove-orphans",
    ABORT_ON_CONTAINER_EXIT = "abort-on-container-exit", EXIT_CODE_FROM = "exit-code-from", NO_ATTACH = "no-attach",
    INPUT = "input", NO_STDIN = "no-stdin", SIG_PROXY = "sig-proxy", DETACH_KEYS = "detach-keys", UNTIL = "until",
}

impl Flag {
    /// The name after `--`.
    pub const fn long(self) -> &'static str {
        self.0
    }
}

/// Whether Slipway does what a declared flag asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    Implemented,
    /// Slipway always behaves as the flag asks, saying why (`images -a`: a build leaves no intermediate images).
    Always(&'static str),
    /// Parsed (so help lists it and docker's spelling is recognised) but refused, saying why.
    Refused(&'static str),
    /// Only the value docker uses by default is accepted (`history --human` is on by default); another is
    /// refused, saying why.
    OnlyValue(&'static str, &'static str),
}

/// One flag of a command, pflag style: `--long`, optional `-s`, with or without a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagSpec {
    pub id: Flag,
    pub short: Option<char>,
    pub takes_value: bool,
    pub help: &'static str,
    pub support: Support,
}

impl FlagSpec {
    pub const fn long(&self) -> &'static str {
        self.id.long()
    }

    const fn always(mut self, why: &'static str) -> FlagSpec {
        self.support = Support::Always(why);
        self
    }

    /// A declared flag Slipway does not implement: the parser refuses it with `why`.
    const fn refused(mut self, why: &'static str) -> FlagSpec {
        self.support = Support::Refused(why);
        self
    }

    const fn only(mut self, value: &'static str, why: &'static str) -> FlagSpec {
        self.support = Support::OnlyValue(value, why);
        self
    }
}

/// How many positional arguments a command takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
    AtMost(usize),
    /// At least the first, at most the second (`docker port CONTAINER [PRIVATE_PORT]`).
    Between(usize, usize),
}

/// Every command of the table, for matching without spelling its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandId {
    Build,
    ImageLs,
    ImageRm,
    ImageInspect,
    ImageHistory,
    ImageTag,
    ImagePush,
    ImagePull,
    ImageSave,
    Login,
    Logout,
    ContainerRun,
    ContainerLs,
    ContainerLogs,
    ContainerPort,
    ContainerStop,
    ContainerKill,
    ContainerRm,
    ContainerExec,
    /// `docker attach` (`cli::attach`): the terminal onto a running container's TTY or output.
    ContainerAttach,
    ContainerCreate,
    ContainerStart,
    ContainerWait,
    ContainerRename,
    ContainerPause,
    ContainerUnpause,
    ContainerTop,
    ContainerPrune,
    ImagePrune,
    NetworkCreate,
    NetworkLs,
    NetworkInspect,
    NetworkRm,
    NetworkConnect,
    NetworkDisconnect,
    NetworkPrune,
    VolumeCreate,
    VolumeLs,
    VolumeInspect,
    VolumeRm,
    VolumePrune,
    ContainerRestart,
    ContainerDiff,
    ContextLs,
    ContainerStats,
    ContainerUpdate,
    SystemPrune,
    Search,
    ManifestInspect,
    ContainerCommit,
    /// `docker cp`, `export`, `load` (issue 17: between containers or images and the project's files).
    ContainerCp,
    ContainerExport,
    /// `docker load` (`cli::load`): a `docker save` tar from the project's files into the session's images.
    ImageLoad,
    Inspect,
    SystemDf,
    Version,
    SystemInfo,
    /// `docker events` (`cli::events`): the session's events from the companion, followed until Ctrl-C.
    SystemEvents,
    Help,
    /// `docker compose`: its subcommands are in [`COMPOSE_COMMANDS`].
    Compose,
    ComposeConfig,
    /// `docker compose up|down|ps`: the project's containers on the companion (`cli::compose_up`).
    ComposeUp,
    ComposeDown,
    ComposePs,
    /// `docker compose ls`: the session's projects, from their containers' labels (no compose file needed).
    ComposeLs,
    /// `docker compose logs|stop|start|restart` (`cli::compose_manage`).
    ComposeLogs,
    ComposeStop,
    ComposeStart,
    ComposeRestart,
    /// `docker compose build|pull|push` (`cli::compose_build`).
    ComposeBuild,
    ComposePull,
    ComposePush,
    /// `docker compose exec` and `top` (`cli::compose_exec`), `run` (`cli::compose_run`).
    ComposeExec,
    ComposeRun,
    ComposeTop,
}

/// What runs a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The interpreter answers it (help, version).
    Interpreter,
    /// The companion server's API: containers, the session's image store, registries.
    Companion,
    /// The page itself: it needs the project's files (`build`) or a browser download (`save`).
    Page,
    /// Understood (help, errors) but nothing runs it yet.
    NotYet,
}

/// What a command's positional arguments name, for completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operands {
    Images,
    /// A build context (a project path).
    Path,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    pub id: CommandId,
    pub backend: Backend,
    /// The canonical path, e.g. `["image", "ls"]`.
    pub path: &'static [&'static str],
    /// Other paths that reach the same command, e.g. `["images"]`.
    pub aliases: &'static [&'static [&'static str]],
    pub arity: Arity,
    /// What follows `docker <path>` in the usage line.
    pub usage: &'static str,
    pub summary: &'static str,
    pub flags: &'static [FlagSpec],
    /// `false` for commands whose flags stop at the first positional (`run IMAGE CMD -x` passes `-x` on).
    pub interspersed: bool,
    pub operands: Operands,
}

type Path = &'static [&'static str];

#[allow(clippy::too_many_arguments)]
const fn command(
    id: CommandId,
    backend: Backend,
    path: Path,
    aliases: &'static [Path],
    arity: Arity,
    usage: &'static str,
    summary: &'static str,
    flags: &'static [FlagSpec],
) -> CommandSpec {
    CommandSpec {
        id,
        backend,
        path,
        aliases,
        arity,
        usage,
        summary,
        flags,
        interspersed: true,
        operands: Operands::Other,
    }
}

impl CommandSpec {
    /// Flags stop at the first positional argument: the rest belongs to the container's command.
    const fn flags_before_arguments(mut self) -> CommandSpec {
        self.interspersed = false;
        self
    }

    const fn operands(mut self, operands: Operands) -> CommandSpec {
        self.operands = operands;
        self
    }
}

const fn flag(id: Flag, short: Option<char>, help: &'static str) -> FlagSpec {
    FlagSpec {
        id,
        short,
        takes_value: false,
        help,
        support: Support::Implemented,
    }
}

const fn opt(id: Flag, short: Option<char>, help: &'static str) -> FlagSpec {
    FlagSpec {
        takes_value: true,
        ..flag(id, short, help)
    }
}

const HELP: FlagSpec = flag(Flag::HELP, None, "Print usage");
const FORMAT: FlagSpec = opt(Flag::FORMAT, None, "Format output using a custom template");
const FORMAT_F: FlagSpec = opt(Flag::FORMAT, Some('f'), "Format output using a custom template");
const QUIET_IDS: FlagSpec = flag(Flag::QUIET, Some('q'), "Only display IDs");
const QUIET: FlagSpec = flag(Flag::QUIET, Some('q'), "Suppress verbose output");
const NO_TRUNC: FlagSpec = flag(Flag::NO_TRUNC, None, "Don't truncate output");
const FILTER: FlagSpec = opt(
    Flag::FILTER,
    Some('f'),
    "Filter output based on conditions provided",
);
const SIGNAL: FlagSpec = opt(Flag::SIGNAL, Some('s'), "Signal to send to the container");
const INTERACTIVE: FlagSpec = flag(
    Flag::INTERACTIVE,
    Some('i'),
    "Keep STDIN open even if not attached",
);
const TTY: FlagSpec = flag(Flag::TTY, Some('t'), "Allocate a pseudo-TTY");
const ENV: FlagSpec = opt(Flag::ENV, Some('e'), "Set environment variables");
const WORKDIR: FlagSpec = opt(Flag::WORKDIR, Some('w'), "Working directory inside the container");
const ALL_TAGS_REFUSED: &str = "it pushes and pulls one tag at a time: name each tag";
const PRUNE_FILTER: FlagSpec = opt(
    Flag::FILTER,
    None,
    "Provide filter values (e.g. \"until=<timestamp>\")",
)
.refused("prune removes everything it would remove without a filter here");
const PRUNE_FORCE: FlagSpec = flag(Flag::FORCE, Some('f'), "Do not prompt for confirmation");

/// The flags `docker create` and `docker run` share (`run` adds `-d`).
#[rustfmt::skip]
const CREATE_FLAGS: [FlagSpec; 28] = [
    INTERACTIVE, TTY,
    opt(Flag::PLATFORM, None, "Set platform if server is multi-platform capable"),
    flag(Flag::RM, None, "Automatically remove the container and its associated anonymous volumes when it exits"),
    opt(Flag::NAME, None, "Assign a name to the container"),
    opt(Flag::PUBLISH, Some('p'), "Publish a container's port(s) to the host"),
    ENV, WORKDIR,
    opt(Flag::ENTRYPOINT, None, "Overwrite the default ENTRYPOINT of the image"),
    opt(Flag::USER, Some('u'), "Username or UID (format: <name|uid>[:<group|gid>])"),
    opt(Flag::MEMORY, Some('m'), "Memory limit"),
    opt(Flag::CPUS, None, "Number of CPUs"),
    opt(Flag::PIDS_LIMIT, None, "Tune container pids limit (set -1 for unlimited)"),
    opt(Flag::HOSTNAME, Some('h'), "Container host name"),
    opt(Flag::NETWORK, None, "Connect a container to a network"),
    opt(Flag::NETWORK_ALIAS, None, "Add network-scoped alias for the container"),
    opt(Flag::VOLUME, Some('v'), "Bind mount a volume"),
    opt(Flag::MOUNT, None, "Attach a filesystem mount to the container"),
    opt(Flag::LABEL, Some('l'), "Set meta data on a container"),
    opt(Flag::HEALTH_CMD, None, "Command to run to check health"),
    opt(Flag::HEALTH_INTERVAL, None, "Time between running the check (ms|s|m|h) (default 0s)"),
    opt(Flag::HEALTH_RETRIES, None, "Consecutive failures needed to report unhealthy"),
    opt(Flag::HEALTH_START_INTERVAL, None, "Time between running the check during the start period (ms|s|m|h) (default 0s)"),
    opt(Flag::HEALTH_START_PERIOD, None, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)"),
    opt(Flag::HEALTH_TIMEOUT, None, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)"),
    flag(Flag::NO_HEALTHCHECK, None, "Disable any container-specified HEALTHCHECK"),
    opt(Flag::RESTART, None, "Restart policy to apply when a container exits (default \"no\")"),
    HELP,
];

/// `first`, then `rest`: `docker run`'s flags are `-d`, `--detach-keys` and `docker create`'s.
const fn with_first(first: [FlagSpec; 2], rest: [FlagSpec; 28]) -> [FlagSpec; 30] {
    let mut all = [first[0]; 30];
    all[1] = first[1];
    let mut i = 0;
    while i < rest.len() {
        all[i + 2] = rest[i];
        i += 1;
    }
    all
}

/// `docker run --detach-keys` and `docker exec --detach-keys`: what ends an `-it` attach, the process left running.
const DETACH_KEYS: FlagSpec = opt(
    Flag::DETACH_KEYS,
    None,
    "Override the key sequence for detaching a container",
);

const RUN_FLAGS: [FlagSpec; 30] = with_first(
    [
        flag(
            Flag::DETACH,
            Some('d'),
            "Run container in background and print container ID",
        ),
        DETACH_KEYS,
    ],
    CREATE_FLAGS,
);

/// Flags before the subcommand: `docker -H URL images`.
#[rustfmt::skip]
pub const GLOBAL_FLAGS: &[FlagSpec] = &[
    opt(Flag::HOST, Some('H'), "Daemon (Slipway companion) URL to connect to")
        .refused("this terminal talks to its own companion (natively: slipway docker --host URL)"),
    flag(Flag::DEBUG, Some('D'), "Enable debug mode").refused("there is no debug output"),
    opt(Flag::LOG_LEVEL, Some('l'), "Set the logging level").refused("there is no client log"),
    opt(Flag::CONFIG, None, "Location of client config files")
        .refused("logins are kept by the page (natively: in slipway's own file)"),
    flag(Flag::VERSION, Some('v'), "Print version information and quit"),
    HELP,
];

use Arity::{AtLeast, AtMost, Between, Exactly};
use Backend::{Companion, Interpreter, Page};
use CommandId::*;

// One entry per command, laid out by hand: id, backend, path, aliases, arity, usage, summary, then its flags.
#[rustfmt::skip]
pub const COMMANDS: &[CommandSpec] = &[
    command(Build, Page, &["build"], &[&["image", "build"], &["buildx", "build"]], Exactly(1),
        "[OPTIONS] PATH | URL | -", "Build an image from a Dockerfile", &[
        opt(Flag::TAG, Some('t'), "Name and optionally a tag (format: \"name:tag\")"),
        opt(Flag::FILE, Some('f'), "Name of the Dockerfile (default: \"PATH/Dockerfile\")"),
        opt(Flag::BUILD_ARG, None, "Set build-time variables"),
        opt(Flag::TARGET, None, "Set the target build stage to build"),
        flag(Flag::NO_CACHE, None, "Do not use cache when building the image"),
        opt(Flag::PLATFORM, None, "Set target platform for build"),
        opt(Flag::PROGRESS, None, "Set type of progress output (\"auto\", \"plain\", \"tty\", \"quiet\")"),
        opt(Flag::LABEL, None, "Set metadata for an image"),
        opt(Flag::SECRET, None, "Secret to expose to the build (format: \"id=mysecret[,src=/local/secret]\")"),
        flag(Flag::QUIET, Some('q'), "Suppress the build output and print image ID on success"),
        flag(Flag::CHECK, None, "Shorthand for \"--call=check\""),
        flag(Flag::PULL, None, "Always attempt to pull all referenced images")
            .refused("FROM images are resolved from the registry as the build starts"),
        HELP,
    ]).operands(Operands::Path),
    command(ImageLs, Companion, &["image", "ls"], &[&["images"], &["image", "list"]], AtMost(1),
        "[OPTIONS] [REPOSITORY[:TAG]]", "List images", &[
        flag(Flag::ALL, Some('a'), "Show all images (default hides intermediate images)")
            .always("a build here leaves no intermediate images: every image is listed"),
        flag(Flag::DIGESTS, None, "Show digests"),
        FILTER, FORMAT, NO_TRUNC, QUIET_IDS, HELP,
    ]),
    command(ImageRm, Companion, &["image", "rm"], &[&["rmi"], &["image", "remove"]], AtLeast(1),
        "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", &[
        flag(Flag::FORCE, Some('f'), "Force removal of the image"),
        flag(Flag::NO_PRUNE, None, "Do not delete untagged parents")
            .always("removing a tag never deletes other images here"),
        HELP,
    ]).operands(Operands::Images),
    command(ImageInspect, Companion, &["image", "inspect"], &[], AtLeast(1),
        "[OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images", &[
        FORMAT_F, HELP,
    ]).operands(Operands::Images),
    command(ImageHistory, Companion, &["image", "history"], &[&["history"]], Exactly(1),
        "[OPTIONS] IMAGE", "Show the history of an image", &[
        FORMAT,
        flag(Flag::HUMAN, Some('H'), "Print sizes and dates in human readable format")
            .only("true", "sizes and dates are always printed for humans"),
        NO_TRUNC, QUIET_IDS, HELP,
    ]).operands(Operands::Images),
    command(ImageTag, Companion, &["image", "tag"], &[&["tag"]], Exactly(2),
        "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", &[
        HELP,
    ]).operands(Operands::Images),
    command(ImagePush, Companion, &["image", "push"], &[&["push"]], Exactly(1),
        "[OPTIONS] NAME[:TAG]", "Upload an image to a registry", &[
        flag(Flag::ALL_TAGS, Some('a'), "Push all tags of an image to the repository").refused(ALL_TAGS_REFUSED),
        QUIET, HELP,
    ]).operands(Operands::Images),
    command(ImagePull, Companion, &["image", "pull"], &[&["pull"]], Exactly(1),
        "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", &[
        flag(Flag::ALL_TAGS, Some('a'), "Download all tagged images in the repository").refused(ALL_TAGS_REFUSED),
        opt(Flag::PLATFORM, None, "Set platform if server is multi-platform capable"),
        QUIET, HELP,
    ]).operands(Operands::Images),
    command(ImageSave, Page, &["image", "save"], &[&["save"]], AtLeast(1),
        "[OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to STDOUT by default)", &[
        opt(Flag::OUTPUT, Some('o'), "Write to a file, instead of STDOUT"),
        HELP,
    ]),
    command(Login, Companion, &["login"], &[], AtMost(1), "[OPTIONS] [SERVER]", "Authenticate to a registry", &[
        opt(Flag::USERNAME, Some('u'), "Username"),
        opt(Flag::PASSWORD, Some('p'), "Password or Personal Access Token (PAT)"),
        flag(Flag::PASSWORD_STDIN, None, "Take the Password or Personal Access Token (PAT) from stdin"),
        HELP,
    ]),
    command(Logout, Companion, &["logout"], &[], AtMost(1), "[SERVER]", "Log out from a registry", &[HELP]),
    command(ContainerRun, Companion, &["container", "run"], &[&["run"]], AtLeast(1),
        "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image", &RUN_FLAGS)
        .flags_before_arguments().operands(Operands::Images),
    command(ContainerCreate, Companion, &["container", "create"], &[&["create"]], AtLeast(1),
        "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container", &CREATE_FLAGS)
        .flags_before_arguments().operands(Operands::Images),
    command(ContainerStart, Companion, &["container", "start"], &[&["start"]], AtLeast(1),
        "[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", &[
        flag(Flag::ATTACH, Some('a'), "Attach STDOUT/STDERR and forward signals"),
        flag(Flag::INTERACTIVE, Some('i'), "Attach container's STDIN")
            .refused("docker start -a shows the output here; to type into a container, use docker run -it"),
        HELP,
    ]),
    command(ContainerWait, Companion, &["container", "wait"], &[&["wait"]], AtLeast(1),
        "CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes", &[HELP]),
    command(ContainerRename, Companion, &["container", "rename"], &[&["rename"]], Exactly(2),
        "CONTAINER NEW_NAME", "Rename a container", &[HELP]),
    command(ContainerPause, Companion, &["container", "pause"], &[&["pause"]], AtLeast(1),
        "CONTAINER [CONTAINER...]", "Pause all processes within one or more containers", &[HELP]),
    command(ContainerUnpause, Companion, &["container", "unpause"], &[&["unpause"]], AtLeast(1),
        "CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers", &[HELP]),
    command(ContainerTop, Companion, &["container", "top"], &[&["top"]], AtLeast(1),
        "CONTAINER [ps OPTIONS]", "Display the running processes of a container", &[HELP])
        .flags_before_arguments(),
    command(ContainerRestart, Companion, &["container", "restart"], &[&["restart"]], AtLeast(1),
        "[OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers", &[
        SIGNAL.refused("docker restart sends SIGTERM, then SIGKILL after --timeout: use docker kill --signal"),
        opt(Flag::TIMEOUT, Some('t'), "Seconds to wait before killing the container"),
        HELP,
    ]),
    command(ContainerDiff, Companion, &["container", "diff"], &[&["diff"]], Exactly(1),
        "CONTAINER", "Inspect changes to files or directories on a container's filesystem", &[HELP]),
    command(ContainerStats, Companion, &["container", "stats"], &[&["stats"]], AtLeast(0),
        "[OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics", &[
        flag(Flag::ALL, Some('a'), "Show all containers (default shows just running)"),
        FORMAT.refused("docker stats prints its table here"),
        flag(Flag::NO_STREAM, None, "Disable streaming stats and only pull the first result"),
        flag(Flag::NO_TRUNC, None, "Do not truncate output"),
        HELP,
    ]),
    command(ContainerUpdate, Companion, &["container", "update"], &[&["update"]], AtLeast(1),
        "[OPTIONS] CONTAINER [CONTAINER...]", "Update configuration of one or more containers", &[
        opt(Flag::MEMORY, Some('m'), "Memory limit"),
        opt(Flag::CPUS, None, "Number of CPUs"),
        opt(Flag::PIDS_LIMIT, None, "Tune container pids limit (set -1 for unlimited)"),
        opt(Flag::MEMORY_SWAP, None, "Swap limit equal to memory plus swap: -1 to enable unlimited swap")
            .refused("containers here have no swap: their memory limit is all they get"),
        opt(Flag::CPU_SHARES, Some('c'), "CPU shares (relative weight)")
            .refused("CPU time is shared by weight between learners here, not between containers: use --cpus"),
        opt(Flag::RESTART, None, "Restart policy to apply when a container exits")
            .refused("containers here are not restarted when they exit: docker start or docker restart them"),
        HELP,
    ]),
    command(ContainerPrune, Companion, &["container", "prune"], &[], Exactly(0),
        "[OPTIONS]", "Remove all stopped containers", &[PRUNE_FILTER, PRUNE_FORCE, HELP]),
    command(ImagePrune, Companion, &["image", "prune"], &[], Exactly(0), "[OPTIONS]", "Remove unused images", &[
        flag(Flag::ALL, Some('a'), "Remove all unused images, not just dangling ones"),
        PRUNE_FILTER, PRUNE_FORCE, HELP,
    ]),
    command(NetworkCreate, Companion, &["network", "create"], &[], Exactly(1), "[OPTIONS] NETWORK",
        "Create a network", &[
        opt(Flag::DRIVER, Some('d'), "Driver to manage the Network"),
        opt(Flag::SUBNET, None, "Subnet in CIDR format that represents a network segment"),
        opt(Flag::GATEWAY, None, "IPv4 or IPv6 Gateway for the master subnet"),
        flag(Flag::INTERNAL, None, "Restrict external access to the network")
            .always("a user network never reaches outside its own bridge here"),
        HELP,
    ]),
    command(NetworkLs, Companion, &["network", "ls"], &[&["network", "list"]], Exactly(0), "[OPTIONS]",
        "List networks", &[
        FILTER.refused("docker network ls lists every network of the session here"),
        FORMAT.refused("docker network ls prints its table here"),
        NO_TRUNC, QUIET_IDS, HELP,
    ]),
    command(NetworkInspect, Companion, &["network", "inspect"], &[], AtLeast(1), "[OPTIONS] NETWORK [NETWORK...]",
        "Display detailed information on one or more networks", &[FORMAT_F, HELP]),
    command(NetworkRm, Companion, &["network", "rm"], &[&["network", "remove"]], AtLeast(1),
        "NETWORK [NETWORK...]", "Remove one or more networks", &[HELP]),
    command(NetworkConnect, Companion, &["network", "connect"], &[], Exactly(2), "[OPTIONS] NETWORK CONTAINER",
        "Connect a container to a network", &[
        opt(Flag::ALIAS, None, "Add network-scoped alias for the container"),
        HELP,
    ]),
    command(NetworkDisconnect, Companion, &["network", "disconnect"], &[], Exactly(2),
        "[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network", &[
        flag(Flag::FORCE, Some('f'), "Force the container to disconnect from a network"),
        HELP,
    ]),
    command(NetworkPrune, Companion, &["network", "prune"], &[], Exactly(0), "[OPTIONS]",
        "Remove all unused networks", &[PRUNE_FILTER, PRUNE_FORCE, HELP]),
    command(VolumeCreate, Companion, &["volume", "create"], &[], AtMost(1), "[OPTIONS] [VOLUME]",
        "Create a volume", &[HELP]),
    command(VolumeLs, Companion, &["volume", "ls"], &[&["volume", "list"]], Exactly(0), "[OPTIONS]",
        "List volumes", &[
        FILTER.refused("docker volume ls lists every volume of the session here"),
        FORMAT.refused("docker volume ls prints its table here"),
        flag(Flag::QUIET, Some('q'), "Only display volume names"), HELP,
    ]),
    command(VolumeInspect, Companion, &["volume", "inspect"], &[], AtLeast(1), "[OPTIONS] VOLUME [VOLUME...]",
        "Display detailed information on one or more volumes", &[FORMAT_F, HELP]),
    command(VolumeRm, Companion, &["volume", "rm"], &[&["volume", "remove"]], AtLeast(1),
        "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", &[
        flag(Flag::FORCE, Some('f'), "Force the removal of one or more volumes")
            .refused("a volume in use is never removed here: remove its containers first"),
        HELP,
    ]),
    command(VolumePrune, Companion, &["volume", "prune"], &[], Exactly(0), "[OPTIONS]",
        "Remove unused local volumes", &[
        flag(Flag::ALL, Some('a'), "Remove all unused volumes, not just anonymous ones"),
        PRUNE_FILTER, PRUNE_FORCE, HELP,
    ]),
    // Issue 17: the project's files and the companion (`cli::cp`).
    command(ContainerCp, Companion, &["container", "cp"], &[&["cp"]], Exactly(2),
        "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tdocker cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
        "Copy files/folders between a container and the local filesystem", &[
        flag(Flag::ARCHIVE, Some('a'), "Archive mode (copy all uid/gid information)"),
        flag(Flag::FOLLOW_LINK, Some('L'), "Always follow symbol link in SRC_PATH"),
        flag(Flag::QUIET, Some('q'), "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached"),
        HELP,
    ]).operands(Operands::Path),
    command(ContainerExport, Companion, &["container", "export"], &[&["export"]], Exactly(1),
        "[OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive", &[
        opt(Flag::OUTPUT, Some('o'), "Write to a file, instead of STDOUT"),
        HELP,
    ]),
    command(ImageLoad, Companion, &["image", "load"], &[&["load"]], Exactly(0),
        "[OPTIONS]", "Load an image from a tar archive or STDIN", &[
        opt(Flag::INPUT, Some('i'), "Read from tar archive file, instead of STDIN"),
        opt(Flag::PLATFORM, None, "Load only the given platform(s). Formatted as a comma-separated list of \"os[/arch[/variant]]\" (e.g., \"linux/amd64,linux/arm64/v8\").")
            .refused("an archive holds one image per tag here: its linux image is loaded"),
        flag(Flag::QUIET, Some('q'), "Suppress the load output"),
        HELP,
    ]),
    command(ContainerCommit, Companion, &["container", "commit"], &[&["commit"]], Between(1, 2),
        "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes", &[
        opt(Flag::AUTHOR, Some('a'), "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")"),
        opt(Flag::CHANGE, Some('c'), "Apply Dockerfile instruction to the created image"),
        opt(Flag::MESSAGE, Some('m'), "Commit message"),
        flag(Flag::PAUSE, Some('p'), "Pause container during commit (default true)"),
        HELP,
    ]),
    command(SystemPrune, Companion, &["system", "prune"], &[], Exactly(0), "[OPTIONS]", "Remove unused data", &[
        flag(Flag::ALL, Some('a'), "Remove all unused images not just dangling ones"),
        PRUNE_FILTER, PRUNE_FORCE,
        flag(Flag::VOLUMES, None, "Prune anonymous volumes")
            .refused("prune volumes with docker volume prune here"),
        HELP,
    ]),
    command(Search, Companion, &["search"], &[], Exactly(1), "[OPTIONS] TERM", "Search Docker Hub for images", &[
        opt(Flag::LIMIT, None, "Max number of search results"),
        FILTER.refused("the companion's registry has no stars or official marks to filter on"),
        FORMAT.refused("docker search prints its table here"),
        NO_TRUNC, HELP,
    ]),
    command(ManifestInspect, Companion, &["manifest", "inspect"], &[], Exactly(1), "[OPTIONS] [MANIFEST_LIST] MANIFEST",
        "Display an image manifest, or manifest list", &[
        flag(Flag::INSECURE, None, "Allow communication with an insecure registry")
            .always("the companion's registry is reached as the terminal reaches it"),
        flag(Flag::VERBOSE, Some('v'), "Output additional info including layers and platform")
            .refused("only the manifest is shown here"),
        HELP,
    ]).operands(Operands::Images),
    command(ContainerLs, Companion, &["container", "ls"], &[&["ps"], &["container", "list"], &["container", "ps"]],
        Exactly(0), "[OPTIONS]", "List containers", &[
        flag(Flag::ALL, Some('a'), "Show all containers (default shows just running)"),
        FILTER,
        FORMAT.refused("docker ps prints its table here"),
        opt(Flag::LAST, Some('n'), "Show n last created containers (includes all states)"),
        flag(Flag::LATEST, Some('l'), "Show the latest created container (includes all states)"),
        NO_TRUNC, QUIET_IDS, HELP,
    ]),
    command(ContainerLogs, Companion, &["container", "logs"], &[&["logs"]], Exactly(1),
        "[OPTIONS] CONTAINER", "Fetch the logs of a container", &[
        flag(Flag::FOLLOW, Some('f'), "Follow log output"),
        opt(Flag::TAIL, Some('n'), "Number of lines to show from the end of the logs"),
        flag(Flag::TIMESTAMPS, Some('t'), "Show timestamps"),
        opt(Flag::SINCE, None, "Show logs since timestamp or relative (e.g. 42m for 42 minutes)")
            .refused("logs are not filtered by time here: use --tail"),
        HELP,
    ]),
    command(ContainerPort, Companion, &["container", "port"], &[&["port"]], Between(1, 2),
        "CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container", &[HELP]),
    command(ContainerStop, Companion, &["container", "stop"], &[&["stop"]], AtLeast(1),
        "[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", &[
        SIGNAL.refused("docker stop sends SIGTERM, then SIGKILL after --time: use docker kill --signal"),
        opt(Flag::TIME, Some('t'), "Seconds to wait before killing the container"),
        HELP,
    ]),
    command(ContainerKill, Companion, &["container", "kill"], &[&["kill"]], AtLeast(1),
        "[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", &[SIGNAL, HELP]),
    command(ContainerRm, Companion, &["container", "rm"], &[&["rm"], &["container", "remove"]], AtLeast(1),
        "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", &[
        flag(Flag::FORCE, Some('f'), "Force the removal of a running container (uses SIGKILL)"),
        flag(Flag::VOLUMES, Some('v'), "Remove anonymous volumes associated with the container"),
        HELP,
    ]),
    command(ContainerExec, Companion, &["container", "exec"], &[&["exec"]], AtLeast(2),
        "[OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container", &[
        flag(Flag::DETACH, Some('d'), "Detached mode: run command in the background"),
        DETACH_KEYS, INTERACTIVE, TTY, ENV, WORKDIR,
        opt(Flag::USER, Some('u'), "Username or UID (format: \"<name|uid>[:<group|gid>]\")"),
        HELP,
    ]).flags_before_arguments(),
    command(ContainerAttach, Companion, &["container", "attach"], &[&["attach"]], Exactly(1),
        "[OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a running container", &[
        DETACH_KEYS,
        flag(Flag::NO_STDIN, None, "Do not attach STDIN"),
        flag(Flag::SIG_PROXY, None, "Proxy all received signals to the process (default true)")
            .only("true", "Ctrl-C goes to the container here (its TTY's, or SIGINT without one): detach with Ctrl-P Ctrl-Q"),
        HELP,
    ]),
    command(Inspect, Companion, &["inspect"], &[], AtLeast(1),
        "[OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on Docker objects", &[
        FORMAT_F,
        flag(Flag::SIZE, Some('s'), "Display total file sizes if the type is container")
            .refused("container sizes are not measured here"),
        opt(Flag::TYPE, None, "Return JSON for specified type"),
        HELP,
    ]),
    command(SystemDf, Companion, &["system", "df"], &[], Exactly(0), "[OPTIONS]", "Show docker disk usage", &[
        FORMAT.refused("docker system df prints its table here"),
        flag(Flag::VERBOSE, Some('v'), "Show detailed information on space usage")
            .refused("only the summary table is shown here"),
        HELP,
    ]),
    command(Version, Interpreter, &["version"], &[], Exactly(0), "[OPTIONS]", "Show the Docker version information",
        &[FORMAT_F, HELP]),
    command(SystemInfo, Companion, &["system", "info"], &[&["info"]], Exactly(0), "[OPTIONS]",
        "Display system-wide information", &[FORMAT_F, HELP]),
    command(SystemEvents, Companion, &["system", "events"], &[&["events"]], Exactly(0), "[OPTIONS]",
        "Get real time events from the server", &[
        FILTER,
        FORMAT,
        opt(Flag::SINCE, None, "Show all events created since timestamp"),
        opt(Flag::UNTIL, None, "Stream events until this timestamp"),
        HELP,
    ]),
    command(ContextLs, Companion, &["context", "ls"], &[&["context", "list"]], Exactly(0), "[OPTIONS]",
        "List contexts", &[FORMAT, flag(Flag::QUIET, Some('q'), "Only show context names"), HELP]),
    command(Help, Interpreter, &["help"], &[], AtMost(2), "[COMMAND]", "Help about any command", &[]),
    command(Compose, Page, &["compose"], &[], AtLeast(0), "[OPTIONS] COMMAND", "Docker Compose", &[
        opt(Flag::FILE, Some('f'), "Compose configuration files"),
        opt(Flag::PROJECT_NAME, Some('p'), "Project name"),
        opt(Flag::PROFILE, None, "Specify a profile to enable"),
        opt(Flag::ENV_FILE, None, "Specify an alternate environment file"),
        opt(Flag::PROJECT_DIRECTORY, None, "Specify an alternate working directory")
            .refused("the project directory is the project's root here: name files under it with -f"),
        opt(Flag::PROGRESS, None, "Set type of progress output (auto, tty, plain, json, quiet)"),
        opt(Flag::ANSI, None, "Control when to print ANSI control characters (\"never\"|\"always\"|\"auto\")"),
        HELP,
    ]).flags_before_arguments(),
];

/// The subcommands of `docker compose` (the words after its own flags), parsed with the same rules.
#[rustfmt::skip]
pub const COMPOSE_COMMANDS: &[CommandSpec] = &[
    command(ComposeConfig, Page, &["compose", "config"], &[&["compose", "convert"]], AtLeast(0),
        "[OPTIONS] [SERVICE...]", "Parse, resolve and render compose file in canonical format", &[
        flag(Flag::QUIET, Some('q'), "Only validate the configuration, don't print anything"),
        flag(Flag::SERVICES, None, "Print the service names, one per line."),
        flag(Flag::VOLUMES, None, "Print the volume names, one per line."),
        flag(Flag::PROFILES, None, "Print the profile names, one per line."),
        flag(Flag::IMAGES, None, "Print the image names, one per line."),
        opt(Flag::FORMAT, None, "Format the output. Values: [yaml | json]")
            .only("yaml", "the model is printed as YAML here"),
        flag(Flag::NO_INTERPOLATE, None, "Don't interpolate environment variables")
            .refused("the model is always printed interpolated here"),
        opt(Flag::OUTPUT, Some('o'), "Save to file (default to stdout)")
            .refused("the model is printed in the terminal: copy it into a file of the project"),
        HELP,
    ]),
    command(ComposeUp, Page, &["compose", "up"], &[], AtLeast(0), "[OPTIONS] [SERVICE...]",
        "Create and start containers", &[
        flag(Flag::DETACH, Some('d'), "Detached mode: Run containers in the background"),
        flag(Flag::BUILD, None, "Build images before starting containers"),
        flag(Flag::NO_BUILD, None, "Don't build an image, even if it's policy"),
        opt(Flag::PULL, None, "Pull image before running (\"always\"|\"missing\"|\"never\"|\"build\")"),
        flag(Flag::REMOVE_ORPHANS, None, "Remove containers for services not defined in the Compose file"),
        opt(Flag::SCALE, None, "Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present."),
        flag(Flag::WAIT, None, "Wait for services to be running|healthy. Implies detached mode."),
        opt(Flag::WAIT_TIMEOUT, None, "Maximum duration in seconds to wait for the project to be running|healthy"),
        flag(Flag::ABORT_ON_CONTAINER_EXIT, None, "Stops all containers if any container was stopped. Incompatible with -d"),
        opt(Flag::EXIT_CODE_FROM, None, "Return the exit code of the selected service container. Implies --abort-on-container-exit"),
        opt(Flag::ATTACH, None, "Restrict attaching to the specified services. Incompatible with --attach-dependencies."),
        opt(Flag::NO_ATTACH, None, "Do not attach (stream logs) to the specified services"),
        flag(Flag::NO_COLOR, None, "Produce monochrome output"),
        flag(Flag::NO_LOG_PREFIX, None, "Don't print prefix in logs"),
        HELP,
    ]),
    command(ComposeDown, Page, &["compose", "down"], &[], AtLeast(0), "[OPTIONS] [SERVICES]",
        "Stop and remove containers, networks", &[
        flag(Flag::VOLUMES, Some('v'), "Remove named volumes declared in the \"volumes\" section of the Compose file and anonymous volumes attached to containers"),
        opt(Flag::TIMEOUT, Some('t'), "Specify a shutdown timeout in seconds"),
        flag(Flag::REMOVE_ORPHANS, None, "Remove containers for services not defined in the Compose file"),
        opt(Flag::RMI, None, "Remove images used by services. \"local\" remove only images that don't have a custom tag (\"local\"|\"all\")"),
        HELP,
    ]),
    command(ComposePs, Page, &["compose", "ps"], &[], AtLeast(0), "[OPTIONS] [SERVICE...]",
        "List containers", &[
        flag(Flag::ALL, Some('a'), "Show all stopped containers (including those created by the run command)"),
        flag(Flag::QUIET, Some('q'), "Only display IDs"),
        HELP,
    ]),
    command(ComposeLs, Page, &["compose", "ls"], &[], Exactly(0), "[OPTIONS]", "List running compose projects", &[
        flag(Flag::ALL, Some('a'), "Show all stopped Compose projects"),
        flag(Flag::QUIET, Some('q'), "Only display project names"),
        opt(Flag::FILTER, None, "Filter output based on conditions provided")
            .refused("docker compose ls lists every project of the session here"),
        opt(Flag::FORMAT, None, "Format the output. Values: [table | json]")
            .only("table", "docker compose ls prints its table here"),
        HELP,
    ]),
    command(ComposeLogs, Page, &["compose", "logs"], &[], AtLeast(0), "[OPTIONS] [SERVICE...]",
        "View output from containers", &[
        flag(Flag::FOLLOW, Some('f'), "Follow log output"),
        opt(Flag::TAIL, Some('n'), "Number of lines to show from the end of the logs for each container"),
        flag(Flag::TIMESTAMPS, Some('t'), "Show timestamps"),
        flag(Flag::NO_LOG_PREFIX, None, "Don't print prefix in logs"),
        flag(Flag::NO_COLOR, None, "Produce monochrome output"),
        opt(Flag::SINCE, None, "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
            .refused("logs are not filtered by time here: use --tail"),
        HELP,
    ]),
    command(ComposeStop, Page, &["compose", "stop"], &[], AtLeast(0), "[OPTIONS] [SERVICE...]", "Stop services", &[
        opt(Flag::TIMEOUT, Some('t'), "Specify a shutdown timeout in seconds"),
        HELP,
    ]),
    command(ComposeStart, Page, &["compose", "start"], &[], AtLeast(0), "[SERVICE...]", "Start services", &[HELP]),
    command(ComposeRestart, Page, &["compose", "restart"], &[], AtLeast(0), "[OPTIONS] [SERVICE...]",
        "Restart service containers", &[
        opt(Flag::TIMEOUT, Some('t'), "Specify a shutdown timeout in seconds"),
        HELP,
    ]),
    command(ComposeBuild, Page, &["compose", "build"], &[], AtLeast(0), "[OPTIONS] [SERVICE...]",
        "Build or rebuild services", &[
        opt(Flag::BUILD_ARG, None, "Set build-time variables for services"),
        flag(Flag::NO_CACHE, None, "Do not use cache when building the image"),
        flag(Flag::PULL, None, "Always attempt to pull a newer version of the image")
            .refused("FROM images are resolved from the registry as the build starts"),
        flag(Flag::PUSH, None, "Push service images")
            .refused("push them after the build with 'docker compose push'"),
        flag(Flag::QUIET, Some('q'), "Don't print anything to STDOUT"),
        HELP,
    ]),
    command(ComposePull, Page, &["compose", "pull"], &[], AtLeast(0), "[OPTIONS] [SERVICE...]",
        "Pull service images", &[
        flag(Flag::IGNORE_BUILDABLE, None, "Ignore images that can be built"),
        flag(Flag::QUIET, Some('q'), "Pull without printing progress information"),
        HELP,
    ]),
    command(ComposePush, Page, &["compose", "push"], &[], AtLeast(0), "[OPTIONS] [SERVICE...]",
        "Push service images", &[
        flag(Flag::QUIET, Some('q'), "Push without printing progress information"),
        HELP,
    ]),
    // Compose's own flags (cmd/compose/exec.go): `-i` and `-t` are hidden there and on by default.
    command(ComposeExec, Page, &["compose", "exec"], &[], AtLeast(2), "[OPTIONS] SERVICE COMMAND [ARGS...]",
        "Execute a command in a running container", &[
        flag(Flag::DETACH, Some('d'), "Detached mode: Run command in the background"),
        ENV,
        opt(Flag::INDEX, None, "Index of the container if service has multiple replicas"),
        flag(Flag::PRIVILEGED, None, "Give extended privileges to the process")
            .refused("containers here never get extended privileges"),
        opt(Flag::USER, Some('u'), "Run the command as this user"),
        flag(Flag::NO_TTY, Some('T'), "Disable pseudo-TTY allocation. By default 'docker compose exec' allocates a TTY."),
        opt(Flag::WORKDIR, Some('w'), "Path to workdir directory for this command"),
        INTERACTIVE.always("docker compose exec keeps STDIN open"),
        TTY.always("docker compose exec allocates a TTY unless -T is given"),
        HELP,
    ]).flags_before_arguments(),
    // cmd/compose/run.go's flags that run here; the others are unknown flags.
    command(ComposeRun, Page, &["compose", "run"], &[], AtLeast(1), "[OPTIONS] SERVICE [COMMAND] [ARGS...]",
        "Run a one-off command on a service", &[
        flag(Flag::DETACH, Some('d'), "Run container in background and print container ID"),
        ENV,
        opt(Flag::LABEL, Some('l'), "Add or override a label"),
        flag(Flag::RM, None, "Automatically remove the container when it exits"),
        flag(Flag::NO_TTY, Some('T'), "Disable pseudo-TTY allocation (default: auto-detected)"),
        opt(Flag::NAME, None, "Assign a name to the container"),
        opt(Flag::USER, Some('u'), "Run as specified username or uid"),
        opt(Flag::WORKDIR, Some('w'), "Working directory inside the container"),
        opt(Flag::ENTRYPOINT, None, "Override the entrypoint of the image"),
        flag(Flag::NO_DEPS, None, "Don't start linked services"),
        opt(Flag::VOLUME, Some('v'), "Bind mount a volume"),
        opt(Flag::PUBLISH, Some('p'), "Publish a container's port(s) to the host"),
        flag(Flag::SERVICE_PORTS, None, "Run command with all service's ports enabled and mapped to the host"),
        flag(Flag::BUILD, None, "Build image before starting container"),
        opt(Flag::PULL, None, "Pull image before running (\"always\"|\"missing\"|\"never\")"),
        flag(Flag::USE_ALIASES, None, "Use the service's network useAliases in the network(s) the container connects to"),
        opt(Flag::CAP_ADD, None, "Add Linux capabilities")
            .refused("containers here run with Docker's default capabilities, which a line cannot change"),
        opt(Flag::CAP_DROP, None, "Drop Linux capabilities")
            .refused("containers here run with Docker's default capabilities, which a line cannot change"),
        INTERACTIVE.always("docker compose run keeps STDIN open"),
        HELP,
    ]).flags_before_arguments(),
    command(ComposeTop, Page, &["compose", "top"], &[], AtLeast(0), "[SERVICES...]", "Display the running processes",
        &[HELP]),
];

impl CommandSpec {
    /// `docker run [OPTIONS] IMAGE [COMMAND] [ARG...]`, named by the path the user typed.
    pub fn usage_line(&self, typed: &[&str]) -> String {
        format!("docker {} {}", typed.join(" "), self.usage)
    }

    /// The command of the table with this id.
    pub fn of(id: CommandId) -> &'static CommandSpec {
        COMMANDS
            .iter()
            .chain(COMPOSE_COMMANDS)
            .find(|c| c.id == id)
            .expect("every command id has an entry in COMMANDS")
    }

    /// Every word sequence that names this command.
    pub fn names(&self) -> impl Iterator<Item = &'static [&'static str]> + '_ {
        std::iter::once(self.path).chain(self.aliases.iter().copied())
    }
}
