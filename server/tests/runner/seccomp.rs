//! Docker's default seccomp profile inside real containers under runc: Python's ctypes makes each syscall an
//! attacker reaches for (io_uring, the kernel keyring, bpf, userfaultfd, perf events, new namespaces, mount,
//! kexec) in a python:3.11-slim container and gets EPERM, while the same program's getpid, threads, fork,
//! subprocesses and sockets work. Each call is made with arguments the kernel would accept, so it is the
//! filter, not a bad argument, that refuses it.

use std::collections::HashMap;

use anyhow::{ensure, Context, Result};

use super::{docker_run, server_with};
use crate::support::server::with_python;

/// Syscall numbers of the architecture the tests run on (the containers run the same one).
#[cfg(target_arch = "x86_64")]
mod nr {
    pub const GETPID: u32 = 39;
    pub const CLONE: u32 = 56;
    pub const MOUNT: u32 = 165;
    pub const KEXEC_LOAD: u32 = 246;
    pub const ADD_KEY: u32 = 248;
    pub const KEYCTL: u32 = 250;
    pub const UNSHARE: u32 = 272;
    pub const PERF_EVENT_OPEN: u32 = 298;
    pub const BPF: u32 = 321;
    pub const USERFAULTFD: u32 = 323;
    pub const IO_URING_SETUP: u32 = 425;
}

/// Syscall numbers of the architecture the tests run on (asm-generic's table).
#[cfg(target_arch = "aarch64")]
mod nr {
    pub const GETPID: u32 = 172;
    pub const CLONE: u32 = 220;
    pub const MOUNT: u32 = 40;
    pub const KEXEC_LOAD: u32 = 104;
    pub const ADD_KEY: u32 = 217;
    pub const KEYCTL: u32 = 219;
    pub const UNSHARE: u32 = 97;
    pub const PERF_EVENT_OPEN: u32 = 241;
    pub const BPF: u32 = 280;
    pub const USERFAULTFD: u32 = 282;
    pub const IO_URING_SETUP: u32 = 425;
}

const EPERM: i64 = 1;

/// What every program starts with: `call(number, *args)` makes a raw syscall and returns (result, errno);
/// `report(name, answer)` prints it as `name result errno`. getpid comes first: an allowed call that works.
const PRELUDE: &str = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def call(number, *args):
    ctypes.set_errno(0)
    args = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    return libc.syscall(ctypes.c_long(number), *args), ctypes.get_errno()
def report(name, answer):
    print(name, answer[0], answer[1], flush=True)
"#;

/// Runs `attack` (Python after [`PRELUDE`]) in a python:3.11-slim container on a server of its own, and
/// returns every reported answer by name; None when the developer opted out of container tests.
async fn answers(label: &str, attack: &str) -> Result<Option<HashMap<String, (i64, i64)>>> {
    let Some(server) = server_with(label, with_python, &["--runtime", "runc"])? else {
        return Ok(None);
    };
    let program = format!("{PRELUDE}\nreport('getpid', call({}))\n{attack}\n", nr::GETPID);
    let (code, output) = docker_run(&server, "python:3.11-slim", &["python3", "-c", &program]).await?;
    ensure!(code == 0, "the program failed ({code}): {output}");
    let mut answers = HashMap::new();
    for line in output.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [name, result, errno] = fields[..] {
            answers.insert(name.to_string(), (result.parse()?, errno.parse()?));
        }
    }
    // PID 1 of its own pid namespace, and no error: the allowed call went through the filter.
    ensure!(answers.get("getpid") == Some(&(1, 0)), "getpid: {output}");
    Ok(Some(answers))
}

/// Runs `attack` as [`answers`] does; every name in `names` answered -1 with errno EPERM.
async fn refused_with_eperm(label: &str, attack: &str, names: &[&str]) -> Result<()> {
    let Some(answers) = answers(label, attack).await? else {
        return Ok(());
    };
    for name in names {
        let answer = answers
            .get(*name)
            .with_context(|| format!("{name} not reported: {answers:?}"))?;
        ensure!(
            *answer == (-1, EPERM),
            "{name} answered {answer:?}, not (-1, EPERM)"
        );
    }
    Ok(())
}

#[tokio::test]
async fn io_uring_setup_from_a_container_fails_with_eperm() -> Result<()> {
    // A ring of one entry with zeroed io_uring_params (120 bytes): what liburing's queue_init asks for.
    let attack = format!(
        "params = ctypes.create_string_buffer(120)\nreport('io_uring_setup', call({}, 1, params))",
        nr::IO_URING_SETUP
    );
    refused_with_eperm("seccomp-io-uring", &attack, &["io_uring_setup"]).await
}

#[tokio::test]
async fn the_kernel_keyring_which_no_namespace_isolates_is_refused_keyctl_and_add_key_fail_with_eperm(
) -> Result<()> {
    // KEYCTL_GET_KEYRING_ID of the session keyring, creating it; a "user" key in the process keyring.
    let attack = format!(
        "report('keyctl', call({keyctl}, 0, -3, 1))\n\
         report('add_key', call({add_key}, b'user', b'slipway', b'secret', 6, -2))",
        keyctl = nr::KEYCTL,
        add_key = nr::ADD_KEY
    );
    refused_with_eperm("seccomp-keyring", &attack, &["keyctl", "add_key"]).await
}

#[tokio::test]
async fn loading_a_bpf_map_from_a_container_fails_with_eperm() -> Result<()> {
    // BPF_MAP_CREATE of a one-entry array map: map_type 2, key and value 4 bytes, max_entries 1.
    let attack = format!(
        "import struct\n\
         attr = ctypes.create_string_buffer(struct.pack('IIII', 2, 4, 4, 1), 128)\n\
         report('bpf', call({}, 0, attr, 128))",
        nr::BPF
    );
    refused_with_eperm("seccomp-bpf", &attack, &["bpf"]).await
}

#[tokio::test]
async fn userfaultfd_which_stalls_the_kernel_mid_copy_fails_with_eperm() -> Result<()> {
    // O_CLOEXEC | UFFD_USER_MODE_ONLY: the mode an unprivileged process may open where nothing filters it.
    let attack = format!("report('userfaultfd', call({}, 0o2000000 | 1))", nr::USERFAULTFD);
    refused_with_eperm("seccomp-userfaultfd", &attack, &["userfaultfd"]).await
}

#[tokio::test]
async fn perf_event_open_on_the_containers_own_process_fails_with_eperm() -> Result<()> {
    // A software task-clock counter on itself, user space only (exclude_kernel | exclude_hv): what
    // perf_event_paranoid 2 lets anyone open.
    let attack = format!(
        "import struct\n\
         attr = ctypes.create_string_buffer(struct.pack('IIQQQQQ', 1, 128, 1, 0, 0, 0, 0x60), 128)\n\
         report('perf_event_open', call({}, attr, 0, -1, -1, 0))",
        nr::PERF_EVENT_OPEN
    );
    refused_with_eperm("seccomp-perf", &attack, &["perf_event_open"]).await
}

#[tokio::test]
async fn a_new_user_namespace_by_unshare_or_clone_fails_with_eperm() -> Result<()> {
    // CLONE_NEWUSER needs no capability: inside it the process would hold them all. clone with SIGCHLD and no
    // stack behaves as fork; a child that got through exits at once.
    let attack = format!(
        "report('unshare', call({unshare}, 0x10000000))\n\
         answer = call({clone}, 17 | 0x10000000, 0, 0, 0, 0)\n\
         if answer[0] == 0: os._exit(0)\n\
         if answer[0] > 0: os.waitpid(answer[0], 0)\n\
         report('clone', answer)",
        unshare = nr::UNSHARE,
        clone = nr::CLONE
    );
    refused_with_eperm("seccomp-userns", &attack, &["unshare", "clone"]).await
}

#[tokio::test]
async fn mount_and_kexec_load_from_a_container_fail_with_eperm() -> Result<()> {
    let attack = format!(
        "report('mount', call({mount}, b'none', b'/tmp', b'tmpfs', 0, None))\n\
         report('kexec_load', call({kexec}, 0, 0, None, 0))",
        mount = nr::MOUNT,
        kexec = nr::KEXEC_LOAD
    );
    refused_with_eperm("seccomp-mount", &attack, &["mount", "kexec_load"]).await
}

#[tokio::test]
async fn ordinary_work_still_runs_threads_fork_subprocesses_and_sockets() -> Result<()> {
    // glibc starts threads with clone3 (answered ENOSYS, so it falls back to clone without namespace flags).
    let work = "import socket, subprocess, threading\n\
         seen = []\n\
         thread = threading.Thread(target=lambda: seen.append('thread'))\n\
         thread.start(); thread.join()\n\
         pid = os.fork()\n\
         if pid == 0: os._exit(7)\n\
         status = os.waitpid(pid, 0)[1]\n\
         shell = subprocess.run(['sh', '-c', 'echo from sh'], capture_output=True, text=True).stdout.strip()\n\
         server = socket.socket(); server.bind(('127.0.0.1', 0)); server.listen()\n\
         client = socket.create_connection(server.getsockname()); peer, _ = server.accept()\n\
         client.sendall(b'ping'); got = peer.recv(4).decode()\n\
         done = (seen, os.waitstatus_to_exitcode(status), shell, got)\n\
         if done != (['thread'], 7, 'from sh', 'ping'): raise SystemExit(f'not done: {done}')\n\
         report('work', (0, 0))";
    let Some(answers) = answers("seccomp-ordinary", work).await? else {
        return Ok(());
    };
    ensure!(answers.get("work") == Some(&(0, 0)), "{answers:?}");
    Ok(())
}
