//! The docker CLI's commands and flags that Slipway understands: names, usage lines, arity, as `docker` prints them.

/// One flag of a command, pflag style: `--long`, optional `-s`, with or without a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagSpec {
    pub long: &'static str,
    pub short: Option<char>,
    pub takes_value: bool,
    pub help: &'static str,
}

/// How many positional arguments a command takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
    AtMost(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// The canonical path, e.g. `["image", "ls"]`.
    pub path: &'static [&'static str],
    /// Other paths that reach the same command, e.g. `["images"]`.
    pub aliases: &'static [&'static [&'static str]],
    /// What follows `docker <path>` in the usage line.
    pub usage: &'static str,
    pub summary: &'static str,
    pub arity: Arity,
    /// `false` for commands whose flags stop at the first positional (`run IMAGE CMD -x` passes `-x` on).
    pub interspersed: bool,
    pub flags: &'static [FlagSpec],
}

const fn flag(long: &'static str, short: Option<char>, help: &'static str) -> FlagSpec {
    FlagSpec {
        long,
        short,
        takes_value: false,
        help,
    }
}

const fn opt(long: &'static str, short: Option<char>, help: &'static str) -> FlagSpec {
    FlagSpec {
        long,
        short,
        takes_value: true,
        help,
    }
}

const HELP: FlagSpec = flag("help", None, "Print usage");
const FORMAT: FlagSpec = opt("format", None, "Format output using a custom template");
const QUIET_IDS: FlagSpec = flag("quiet", Some('q'), "Only display IDs");

/// Flags before the subcommand: `docker -H URL images`.
pub const GLOBAL_FLAGS: &[FlagSpec] = &[
    opt("host", Some('H'), "Daemon (Slipway companion) URL to connect to"),
    flag("debug", Some('D'), "Enable debug mode"),
    opt("log-level", Some('l'), "Set the logging level"),
    opt("config", None, "Location of client config files"),
    flag("version", Some('v'), "Print version information and quit"),
    HELP,
];

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        path: &["build"],
        aliases: &[&["image", "build"], &["buildx", "build"]],
        usage: "[OPTIONS] PATH | URL | -",
        summary: "Build an image from a Dockerfile",
        arity: Arity::Exactly(1),
        interspersed: true,
        flags: &[
            opt(
                "tag",
                Some('t'),
                "Name and optionally a tag (format: \"name:tag\")",
            ),
            opt(
                "file",
                Some('f'),
                "Name of the Dockerfile (default: \"PATH/Dockerfile\")",
            ),
            opt("build-arg", None, "Set build-time variables"),
            opt("target", None, "Set the target build stage to build"),
            flag("no-cache", None, "Do not use cache when building the image"),
            opt("platform", None, "Set target platform for build"),
            opt(
                "progress",
                None,
                "Set type of progress output (\"auto\", \"plain\", \"tty\", \"quiet\")",
            ),
            opt("label", None, "Set metadata for an image"),
            flag(
                "quiet",
                Some('q'),
                "Suppress the build output and print image ID on success",
            ),
            flag("pull", None, "Always attempt to pull all referenced images"),
            HELP,
        ],
    },
    CommandSpec {
        path: &["image", "ls"],
        aliases: &[&["images"], &["image", "list"]],
        usage: "[OPTIONS] [REPOSITORY[:TAG]]",
        summary: "List images",
        arity: Arity::AtMost(1),
        interspersed: true,
        flags: &[
            flag(
                "all",
                Some('a'),
                "Show all images (default hides intermediate images)",
            ),
            flag("digests", None, "Show digests"),
            opt("filter", Some('f'), "Filter output based on conditions provided"),
            FORMAT,
            flag("no-trunc", None, "Don't truncate output"),
            QUIET_IDS,
            HELP,
        ],
    },
    CommandSpec {
        path: &["image", "rm"],
        aliases: &[&["rmi"], &["image", "remove"]],
        usage: "[OPTIONS] IMAGE [IMAGE...]",
        summary: "Remove one or more images",
        arity: Arity::AtLeast(1),
        interspersed: true,
        flags: &[
            flag("force", Some('f'), "Force removal of the image"),
            flag("no-prune", None, "Do not delete untagged parents"),
            HELP,
        ],
    },
    CommandSpec {
        path: &["image", "inspect"],
        aliases: &[],
        usage: "[OPTIONS] IMAGE [IMAGE...]",
        summary: "Display detailed information on one or more images",
        arity: Arity::AtLeast(1),
        interspersed: true,
        flags: &[
            opt("format", Some('f'), "Format output using a custom template"),
            HELP,
        ],
    },
    CommandSpec {
        path: &["image", "history"],
        aliases: &[&["history"]],
        usage: "[OPTIONS] IMAGE",
        summary: "Show the history of an image",
        arity: Arity::Exactly(1),
        interspersed: true,
        flags: &[
            FORMAT,
            flag(
                "human",
                Some('H'),
                "Print sizes and dates in human readable format",
            ),
            flag("no-trunc", None, "Don't truncate output"),
            QUIET_IDS,
            HELP,
        ],
    },
    CommandSpec {
        path: &["image", "tag"],
        aliases: &[&["tag"]],
        usage: "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
        summary: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
        arity: Arity::Exactly(2),
        interspersed: true,
        flags: &[HELP],
    },
    CommandSpec {
        path: &["image", "push"],
        aliases: &[&["push"]],
        usage: "[OPTIONS] NAME[:TAG]",
        summary: "Upload an image to a registry",
        arity: Arity::Exactly(1),
        interspersed: true,
        flags: &[
            flag(
                "all-tags",
                Some('a'),
                "Push all tags of an image to the repository",
            ),
            flag("quiet", Some('q'), "Suppress verbose output"),
            HELP,
        ],
    },
    CommandSpec {
        path: &["image", "pull"],
        aliases: &[&["pull"]],
        usage: "[OPTIONS] NAME[:TAG|@DIGEST]",
        summary: "Download an image from a registry",
        arity: Arity::Exactly(1),
        interspersed: true,
        flags: &[
            flag(
                "all-tags",
                Some('a'),
                "Download all tagged images in the repository",
            ),
            opt(
                "platform",
                None,
                "Set platform if server is multi-platform capable",
            ),
            flag("quiet", Some('q'), "Suppress verbose output"),
            HELP,
        ],
    },
    CommandSpec {
        path: &["image", "save"],
        aliases: &[&["save"]],
        usage: "[OPTIONS] IMAGE [IMAGE...]",
        summary: "Save one or more images to a tar archive (streamed to STDOUT by default)",
        arity: Arity::AtLeast(1),
        interspersed: true,
        flags: &[
            opt("output", Some('o'), "Write to a file, instead of STDOUT"),
            HELP,
        ],
    },
    CommandSpec {
        path: &["login"],
        aliases: &[],
        usage: "[OPTIONS] [SERVER]",
        summary: "Authenticate to a registry",
        arity: Arity::AtMost(1),
        interspersed: true,
        flags: &[
            opt("username", Some('u'), "Username"),
            opt("password", Some('p'), "Password or Personal Access Token (PAT)"),
            flag(
                "password-stdin",
                None,
                "Take the Password or Personal Access Token (PAT) from stdin",
            ),
            HELP,
        ],
    },
    CommandSpec {
        path: &["logout"],
        aliases: &[],
        usage: "[SERVER]",
        summary: "Log out from a registry",
        arity: Arity::AtMost(1),
        interspersed: true,
        flags: &[HELP],
    },
    CommandSpec {
        path: &["container", "run"],
        aliases: &[&["run"]],
        usage: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
        summary: "Create and run a new container from an image",
        arity: Arity::AtLeast(1),
        interspersed: false,
        flags: &[
            flag(
                "detach",
                Some('d'),
                "Run container in background and print container ID",
            ),
            flag("interactive", Some('i'), "Keep STDIN open even if not attached"),
            flag("tty", Some('t'), "Allocate a pseudo-TTY"),
            flag(
                "rm",
                None,
                "Automatically remove the container and its associated anonymous volumes when it exits",
            ),
            opt("name", None, "Assign a name to the container"),
            opt("publish", Some('p'), "Publish a container's port(s) to the host"),
            opt("env", Some('e'), "Set environment variables"),
            opt("workdir", Some('w'), "Working directory inside the container"),
            opt(
                "entrypoint",
                None,
                "Overwrite the default ENTRYPOINT of the image",
            ),
            opt(
                "user",
                Some('u'),
                "Username or UID (format: <name|uid>[:<group|gid>])",
            ),
            opt("memory", Some('m'), "Memory limit"),
            opt("cpus", None, "Number of CPUs"),
            opt(
                "pids-limit",
                None,
                "Tune container pids limit (set -1 for unlimited)",
            ),
            opt("hostname", Some('h'), "Container host name"),
            HELP,
        ],
    },
    CommandSpec {
        path: &["container", "ls"],
        aliases: &[&["ps"], &["container", "list"], &["container", "ps"]],
        usage: "[OPTIONS]",
        summary: "List containers",
        arity: Arity::Exactly(0),
        interspersed: true,
        flags: &[
            flag(
                "all",
                Some('a'),
                "Show all containers (default shows just running)",
            ),
            opt("filter", Some('f'), "Filter output based on conditions provided"),
            FORMAT,
            opt(
                "last",
                Some('n'),
                "Show n last created containers (includes all states)",
            ),
            flag(
                "latest",
                Some('l'),
                "Show the latest created container (includes all states)",
            ),
            flag("no-trunc", None, "Don't truncate output"),
            QUIET_IDS,
            HELP,
        ],
    },
    CommandSpec {
        path: &["container", "logs"],
        aliases: &[&["logs"]],
        usage: "[OPTIONS] CONTAINER",
        summary: "Fetch the logs of a container",
        arity: Arity::Exactly(1),
        interspersed: true,
        flags: &[
            flag("follow", Some('f'), "Follow log output"),
            opt(
                "tail",
                Some('n'),
                "Number of lines to show from the end of the logs",
            ),
            flag("timestamps", Some('t'), "Show timestamps"),
            opt(
                "since",
                None,
                "Show logs since timestamp or relative (e.g. 42m for 42 minutes)",
            ),
            HELP,
        ],
    },
    CommandSpec {
        path: &["container", "stop"],
        aliases: &[&["stop"]],
        usage: "[OPTIONS] CONTAINER [CONTAINER...]",
        summary: "Stop one or more running containers",
        arity: Arity::AtLeast(1),
        interspersed: true,
        flags: &[
            opt("signal", Some('s'), "Signal to send to the container"),
            opt("time", Some('t'), "Seconds to wait before killing the container"),
            HELP,
        ],
    },
    CommandSpec {
        path: &["container", "kill"],
        aliases: &[&["kill"]],
        usage: "[OPTIONS] CONTAINER [CONTAINER...]",
        summary: "Kill one or more running containers",
        arity: Arity::AtLeast(1),
        interspersed: true,
        flags: &[opt("signal", Some('s'), "Signal to send to the container"), HELP],
    },
    CommandSpec {
        path: &["container", "rm"],
        aliases: &[&["rm"], &["container", "remove"]],
        usage: "[OPTIONS] CONTAINER [CONTAINER...]",
        summary: "Remove one or more containers",
        arity: Arity::AtLeast(1),
        interspersed: true,
        flags: &[
            flag(
                "force",
                Some('f'),
                "Force the removal of a running container (uses SIGKILL)",
            ),
            flag(
                "volumes",
                Some('v'),
                "Remove anonymous volumes associated with the container",
            ),
            HELP,
        ],
    },
    CommandSpec {
        path: &["container", "exec"],
        aliases: &[&["exec"]],
        usage: "[OPTIONS] CONTAINER COMMAND [ARG...]",
        summary: "Execute a command in a running container",
        arity: Arity::AtLeast(2),
        interspersed: false,
        flags: &[
            flag(
                "detach",
                Some('d'),
                "Detached mode: run command in the background",
            ),
            flag("interactive", Some('i'), "Keep STDIN open even if not attached"),
            flag("tty", Some('t'), "Allocate a pseudo-TTY"),
            opt("env", Some('e'), "Set environment variables"),
            opt("workdir", Some('w'), "Working directory inside the container"),
            opt(
                "user",
                Some('u'),
                "Username or UID (format: \"<name|uid>[:<group|gid>]\")",
            ),
            HELP,
        ],
    },
    CommandSpec {
        path: &["inspect"],
        aliases: &[],
        usage: "[OPTIONS] NAME|ID [NAME|ID...]",
        summary: "Return low-level information on Docker objects",
        arity: Arity::AtLeast(1),
        interspersed: true,
        flags: &[
            opt("format", Some('f'), "Format output using a custom template"),
            flag(
                "size",
                Some('s'),
                "Display total file sizes if the type is container",
            ),
            opt("type", None, "Return JSON for specified type"),
            HELP,
        ],
    },
    CommandSpec {
        path: &["system", "df"],
        aliases: &[],
        usage: "[OPTIONS]",
        summary: "Show docker disk usage",
        arity: Arity::Exactly(0),
        interspersed: true,
        flags: &[
            FORMAT,
            flag("verbose", Some('v'), "Show detailed information on space usage"),
            HELP,
        ],
    },
    CommandSpec {
        path: &["version"],
        aliases: &[],
        usage: "[OPTIONS]",
        summary: "Show the Docker version information",
        arity: Arity::Exactly(0),
        interspersed: true,
        flags: &[
            opt("format", Some('f'), "Format output using a custom template"),
            HELP,
        ],
    },
    CommandSpec {
        path: &["system", "info"],
        aliases: &[&["info"]],
        usage: "[OPTIONS]",
        summary: "Display system-wide information",
        arity: Arity::Exactly(0),
        interspersed: true,
        flags: &[
            opt("format", Some('f'), "Format output using a custom template"),
            HELP,
        ],
    },
    CommandSpec {
        path: &["help"],
        aliases: &[],
        usage: "[COMMAND]",
        summary: "Help about any command",
        arity: Arity::AtMost(2),
        interspersed: true,
        flags: &[],
    },
];

impl CommandSpec {
    /// `docker run [OPTIONS] IMAGE [COMMAND] [ARG...]`, named by the path the user typed.
    pub fn usage_line(&self, typed: &[&str]) -> String {
        format!("docker {} {}", typed.join(" "), self.usage)
    }

    pub fn flag_by_long(&self, long: &str) -> Option<&FlagSpec> {
        self.flags.iter().find(|f| f.long == long)
    }

    pub fn flag_by_short(&self, short: char) -> Option<&FlagSpec> {
        self.flags.iter().find(|f| f.short == Some(short))
    }

    /// Every word sequence that names this command.
    pub fn names(&self) -> impl Iterator<Item = &'static [&'static str]> + '_ {
        std::iter::once(self.path).chain(self.aliases.iter().copied())
    }
}
