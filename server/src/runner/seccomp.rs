//! Docker's default seccomp profile as oci-spec types: every syscall is refused with EPERM unless a rule
//! allows it, and the rules are Docker's allowlist with its argument conditions, its capability gates decided
//! for the capabilities Slipway grants, and its kernel gates decided for the host's kernel.
//!
//! Source: moby `profiles/seccomp/default.json` as of Docker Engine v26.0, which includes moby#46762 (the
//! `io_uring_*` syscalls taken out of the allowlist: a ring runs reads, writes, opens and connects the
//! filter never sees) and moby#47341 (syscalls of kernels 5.17 to 6.6). Later additions (moby#50077,
//! kernels 6.8 to 6.13: `listmount`, `mseal`, `*xattrat`, ...) are not here yet; runc answers syscalls newer
//! than the filter's newest with ENOSYS, so libc falls back to the older calls instead of failing with EPERM.

use std::collections::HashSet;

use oci_spec::runtime::{
    Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSeccompBuilder,
    LinuxSeccompOperator, LinuxSyscall, LinuxSyscallBuilder,
};
use oci_spec::OciSpecError;

const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

/// Allowed for every container, whatever its capabilities (Docker's first rule), in Docker's order.
pub const ALWAYS_ALLOWED: &str = "
    accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
    clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
    clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3
    epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old
    eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate
    fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr
    flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate
    ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat getcpu getcwd
    getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer
    getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32 getresuid
    getresuid32 getrlimit get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid
    gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch
    io_cancel ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup
    io_submit ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32
    lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64
    madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock
    mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive
    mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd
    msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open openat openat2
    pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64
    prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev
    pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg
    remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction
    rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
    rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam
    sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
    sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler
    sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64
    sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32
    setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid
    setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32
    setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn
    socketcall socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range
    syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64
    timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
    timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat
    utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
";

/// Allowed from kernel 4.8 on, where seccomp runs after a tracer's changes, so ptrace cannot step around the
/// filter (Docker's `minKernel: 4.8`).
const ALLOWED_FROM_KERNEL_4_8: &str = "process_vm_readv process_vm_writev ptrace";

/// Architecture-specific calls Docker allows on the native architecture (`includes.arches`).
fn native_arch_allowed() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "arch_prctl modify_ldt"
    } else if cfg!(target_arch = "aarch64") {
        "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls"
    } else {
        ""
    }
}

/// Docker's capability-gated rules: each list is allowed only to a container that holds the capability.
/// Slipway grants none of them but CAP_SYS_CHROOT (`spec::DEFAULT_CAPS`), so the rest stay refused.
const ALLOWED_WITH_CAPABILITY: &[(Capability, &str)] = &[
    (Capability::DacReadSearch, "open_by_handle_at"),
    (
        Capability::SysAdmin,
        "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr \
         move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog \
         umount umount2 unshare",
    ),
    (Capability::SysBoot, "reboot"),
    (Capability::SysChroot, "chroot"),
    (Capability::SysModule, "delete_module init_module finit_module"),
    (Capability::SysPacct, "acct"),
    (
        Capability::SysPtrace,
        "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
    ),
    (Capability::SysRawio, "iopl ioperm"),
    (
        Capability::SysTime,
        "settimeofday stime clock_settime clock_settime64",
    ),
    (Capability::SysTtyConfig, "vhangup"),
    (
        Capability::SysNice,
        "get_mempolicy mbind set_mempolicy set_mempolicy_home_node",
    ),
    (Capability::Syslog, "syslog"),
    (Capability::Bpf, "bpf"),
    (Capability::Perfmon, "perf_event_open"),
];

/// The `clone` flags that make new namespaces: CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
/// CLONE_NEWUSER, CLONE_NEWPID and CLONE_NEWNET (Docker's mask 2114060288).
pub const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// `socket`'s domain that stays refused: AF_VSOCK, which reaches the hypervisor's side of a virtual machine.
const AF_VSOCK: u64 = 40;

/// The `personality` values Docker allows: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32 and the
/// query 0xffffffff; the rest (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, ...) weaken the process's own defences.
const PERSONALITIES: &[u64] = &[0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// A kernel release as `major.minor`, enough for Docker's `minKernel` gates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelVersion(pub u32, pub u32);

impl KernelVersion {
    /// From a release string such as `6.1.0-18-amd64`; None when it does not start with `major.minor`.
    pub fn parse(release: &str) -> Option<KernelVersion> {
        let mut parts = release.trim().splitn(3, ['.', '-']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(KernelVersion(major, minor))
    }

    /// The running kernel's; an unreadable release counts as an old kernel, so its gated calls stay refused.
    pub fn host() -> KernelVersion {
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .and_then(|release| KernelVersion::parse(&release))
            .unwrap_or(KernelVersion(0, 0))
    }
}

fn names(list: &str) -> Vec<String> {
    list.split_whitespace().map(str::to_string).collect()
}

fn allow(names: Vec<String>) -> Result<LinuxSyscall, OciSpecError> {
    LinuxSyscallBuilder::default()
        .names(names)
        .action(LinuxSeccompAction::ScmpActAllow)
        .build()
}

/// `name` allowed when its first argument compares to `value` as `op` says (for MASKED_EQ: `arg & value == 0`).
fn allow_when_first_arg(
    name: &str,
    op: LinuxSeccompOperator,
    value: u64,
) -> Result<LinuxSyscall, OciSpecError> {
    let arg = LinuxSeccompArgBuilder::default()
        .index(0usize)
        .value(value)
        .value_two(0u64)
        .op(op)
        .build()?;
    LinuxSyscallBuilder::default()
        .names(vec![name.to_string()])
        .action(LinuxSeccompAction::ScmpActAllow)
        .args(vec![arg])
        .build()
}

/// The native architecture and its compat ones (Docker's `archMap`): a filter must cover every syscall ABI the
/// kernel accepts, or a 32-bit call would reach the kernel under other numbers.
fn architectures() -> Vec<Arch> {
    if cfg!(target_arch = "x86_64") {
        vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
    } else if cfg!(target_arch = "aarch64") {
        vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm]
    } else {
        vec![Arch::ScmpArchNative]
    }
}

/// Docker's default profile for a container holding `caps`, on the host's kernel.
pub fn profile(caps: &HashSet<Capability>) -> Result<LinuxSeccomp, OciSpecError> {
    profile_for(caps, KernelVersion::host())
}

/// Docker's default profile for a container holding `caps` on `kernel`.
pub fn profile_for(caps: &HashSet<Capability>, kernel: KernelVersion) -> Result<LinuxSeccomp, OciSpecError> {
    let mut allowed = names(ALWAYS_ALLOWED);
    if kernel >= KernelVersion(4, 8) {
        allowed.extend(names(ALLOWED_FROM_KERNEL_4_8));
    }
    allowed.extend(names(native_arch_allowed()));
    for (cap, list) in ALLOWED_WITH_CAPABILITY {
        if caps.contains(cap) {
            allowed.extend(names(list));
        }
    }
    let mut seen = HashSet::new();
    allowed.retain(|name| seen.insert(name.clone()));

    let mut syscalls = vec![allow(allowed)?];
    syscalls.push(allow_when_first_arg(
        "socket",
        LinuxSeccompOperator::ScmpCmpNe,
        AF_VSOCK,
    )?);
    for value in PERSONALITIES {
        syscalls.push(allow_when_first_arg(
            "personality",
            LinuxSeccompOperator::ScmpCmpEq,
            *value,
        )?);
    }
    if !caps.contains(&Capability::SysAdmin) {
        // Threads and fork, but no new namespaces: a new user namespace would hand the process every
        // capability inside it, and with them the mount and netfilter code of the whole kernel.
        syscalls.push(allow_when_first_arg(
            "clone",
            LinuxSeccompOperator::ScmpCmpMaskedEq,
            CLONE_NAMESPACE_FLAGS,
        )?);
        // clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back to clone.
        syscalls.push(
            LinuxSyscallBuilder::default()
                .names(vec!["clone3".to_string()])
                .action(LinuxSeccompAction::ScmpActErrno)
                .errno_ret(ENOSYS)
                .build()?,
        );
    }
    LinuxSeccompBuilder::default()
        .default_action(LinuxSeccompAction::ScmpActErrno)
        .default_errno_ret(EPERM)
        .architectures(architectures())
        .syscalls(syscalls)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::spec::DEFAULT_CAPS;

    fn slipway_caps() -> HashSet<Capability> {
        DEFAULT_CAPS.iter().copied().collect()
    }

    /// The names an ALLOW rule admits whatever their arguments.
    fn unconditional(profile: &LinuxSeccomp) -> HashSet<String> {
        let rules = profile.syscalls().as_ref().expect("rules");
        rules
            .iter()
            .filter(|r| r.action() == LinuxSeccompAction::ScmpActAllow && r.args().is_none())
            .flat_map(|r| r.names().iter().cloned())
            .collect()
    }

    fn rules_for<'a>(profile: &'a LinuxSeccomp, name: &str) -> Vec<&'a LinuxSyscall> {
        let rules = profile.syscalls().as_ref().expect("rules");
        rules
            .iter()
            .filter(|r| r.names().iter().any(|n| n == name))
            .collect()
    }

    #[test]
    fn every_syscall_the_profile_does_not_name_fails_with_eperm() {
        let profile = profile_for(&slipway_caps(), KernelVersion(6, 1)).unwrap();
        assert_eq!(profile.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(profile.default_errno_ret(), Some(EPERM));
        assert_eq!(profile.architectures().as_deref(), Some(&architectures()[..]));
        // The same as Docker writes it into config.json.
        let json = serde_json::to_value(&profile).unwrap();
        assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(json["defaultErrnoRet"], 1);
    }

    #[test]
    fn what_programs_need_is_allowed_and_the_kernels_attack_surface_is_not() {
        let profile = profile_for(&slipway_caps(), KernelVersion(6, 1)).unwrap();
        let allowed = unconditional(&profile);
        for core in [
            "read",
            "write",
            "openat",
            "close",
            "execve",
            "mmap",
            "mprotect",
            "brk",
            "futex",
            "exit_group",
            "rt_sigreturn",
            "getpid",
            "wait4",
            "epoll_wait",
            "accept4",
            "bind",
            "listen",
            "pipe2",
            "chroot",
            "setuid",
            "chown",
            "ptrace",
        ] {
            assert!(allowed.contains(core), "{core} is not allowed");
        }
        for attack in [
            "io_uring_setup",
            "io_uring_enter",
            "io_uring_register",
            "keyctl",
            "add_key",
            "request_key",
            "bpf",
            "userfaultfd",
            "perf_event_open",
            "unshare",
            "setns",
            "mount",
            "umount2",
            "pivot_root",
            "fsopen",
            "open_tree",
            "move_mount",
            "kexec_load",
            "kexec_file_load",
            "init_module",
            "finit_module",
            "delete_module",
            "reboot",
            "swapon",
            "acct",
            "settimeofday",
            "clock_settime",
            "iopl",
            "ioperm",
            "syslog",
            "lookup_dcookie",
            "open_by_handle_at",
            "sethostname",
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "mbind",
            "vhangup",
            "quotactl",
            "fanotify_init",
        ] {
            assert!(rules_for(&profile, attack).is_empty(), "{attack} has a rule");
        }
    }

    #[test]
    fn clone_makes_no_namespaces_and_clone3_answers_enosys_so_libc_falls_back() {
        let profile = profile_for(&slipway_caps(), KernelVersion(6, 1)).unwrap();
        assert!(!unconditional(&profile).contains("clone"));
        let clone = rules_for(&profile, "clone");
        assert_eq!(clone.len(), 1);
        let arg = clone[0].args().as_ref().unwrap()[0];
        assert_eq!(arg.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
        assert_eq!(
            (arg.index(), arg.value(), arg.value_two()),
            (0, CLONE_NAMESPACE_FLAGS, Some(0))
        );
        // CLONE_NEWUSER and CLONE_NEWNS are among the refused flags; CLONE_THREAD (threads) is not.
        assert_ne!(CLONE_NAMESPACE_FLAGS & 0x1000_0000, 0);
        assert_ne!(CLONE_NAMESPACE_FLAGS & 0x0002_0000, 0);
        assert_eq!(CLONE_NAMESPACE_FLAGS & 0x0001_0000, 0);
        let clone3 = rules_for(&profile, "clone3");
        assert_eq!(clone3.len(), 1);
        assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(clone3[0].errno_ret(), Some(ENOSYS));
    }

    #[test]
    fn sockets_and_personalities_are_allowed_with_dockers_argument_conditions() {
        let profile = profile_for(&slipway_caps(), KernelVersion(6, 1)).unwrap();
        let socket = rules_for(&profile, "socket");
        assert_eq!(socket.len(), 1);
        let arg = socket[0].args().as_ref().unwrap()[0];
        assert_eq!(
            (arg.op(), arg.value()),
            (LinuxSeccompOperator::ScmpCmpNe, AF_VSOCK)
        );
        let personalities: Vec<u64> = rules_for(&profile, "personality")
            .iter()
            .map(|r| r.args().as_ref().unwrap()[0].value())
            .collect();
        assert_eq!(personalities, PERSONALITIES);
    }

    #[test]
    fn capability_gated_calls_follow_the_capabilities_the_container_holds() {
        let mut with_admin = slipway_caps();
        with_admin.insert(Capability::SysAdmin);
        let profile = profile_for(&with_admin, KernelVersion(6, 1)).unwrap();
        let allowed = unconditional(&profile);
        for name in ["mount", "unshare", "setns", "clone", "clone3"] {
            assert!(allowed.contains(name), "{name} with CAP_SYS_ADMIN");
        }
        assert_eq!(
            rules_for(&profile, "clone").len(),
            1,
            "no masked clone rule beside the full one"
        );
        let without_chroot: HashSet<Capability> = slipway_caps()
            .into_iter()
            .filter(|c| *c != Capability::SysChroot)
            .collect();
        let profile = profile_for(&without_chroot, KernelVersion(6, 1)).unwrap();
        assert!(rules_for(&profile, "chroot").is_empty());
    }

    #[test]
    fn ptrace_is_allowed_only_on_kernels_where_seccomp_runs_after_the_tracer() {
        let old = profile_for(&slipway_caps(), KernelVersion(4, 7)).unwrap();
        assert!(rules_for(&old, "ptrace").is_empty());
        let new = profile_for(&slipway_caps(), KernelVersion(4, 8)).unwrap();
        assert!(unconditional(&new).contains("process_vm_readv"));
    }

    #[test]
    fn kernel_releases_parse_to_major_and_minor() {
        assert_eq!(
            KernelVersion::parse("6.18.44-fc-v1272\n"),
            Some(KernelVersion(6, 18))
        );
        assert_eq!(KernelVersion::parse("6.1.0-18-amd64"), Some(KernelVersion(6, 1)));
        assert_eq!(KernelVersion::parse("4.8-rc1"), Some(KernelVersion(4, 8)));
        assert_eq!(KernelVersion::parse("linux"), None);
        assert_ne!(
            KernelVersion::host(),
            KernelVersion(0, 0),
            "/proc/sys/kernel/osrelease unreadable"
        );
    }

    #[test]
    fn every_name_is_a_syscall_name_listed_once() {
        let mut all = names(ALWAYS_ALLOWED);
        all.extend(names(ALLOWED_FROM_KERNEL_4_8));
        let unique: HashSet<&String> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
        for name in &all {
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name:?}"
            );
        }
    }
}
