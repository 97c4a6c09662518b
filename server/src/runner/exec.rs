//! `docker exec [-it]`: another process in a running container (`runc exec -d`, reaped by us like the init).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use oci_spec::runtime::Spec;
use tokio::sync::watch;

use super::io::ProcessIo;
use super::lifecycle::{Container, Status};
use super::{io_ctx, spec, users, Runner, RunnerError};

/// The body of `POST /api/containers/{id}/exec` and what `GET /api/execs/{id}` shows: the protocol's.
pub use slipway::api::{ExecOptions, ExecState};

#[derive(Debug)]
pub struct Exec {
    pub id: String,
    pub container: Arc<Container>,
    pub args: Vec<String>,
    pub io: ProcessIo,
    exit: watch::Sender<Option<i32>>,
}

impl Exec {
    pub fn state(&self) -> ExecState {
        let exit = *self.exit.borrow();
        ExecState {
            id: self.id.clone(),
            container: self.container.id.clone(),
            args: self.args.clone(),
            running: exit.is_none(),
            exit_code: exit,
        }
    }

    /// Wait for the process to end; its exit code.
    pub async fn wait(&self) -> i32 {
        let mut rx = self.exit.subscribe();
        let code = rx.wait_for(|c| c.is_some()).await.map(|c| c.unwrap_or(255));
        code.unwrap_or(255)
    }
}

/// The execs of all containers, by exec id.
#[derive(Debug, Default)]
pub struct ExecTable(Mutex<HashMap<String, Arc<Exec>>>);

impl ExecTable {
    pub fn get(&self, id: &str) -> Option<Arc<Exec>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }

    fn insert(&self, exec: Arc<Exec>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(exec.id.clone(), exec);
    }

    /// Forget the execs of a removed container.
    pub fn remove_container(&self, container_id: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, e| e.container.id != container_id);
    }
}

impl Runner {
    /// Start `opts.cmd` in the running container `c`, with the container's process settings as the base.
    pub async fn exec(
        self: &Arc<Self>,
        c: &Arc<Container>,
        opts: ExecOptions,
    ) -> Result<Arc<Exec>, RunnerError> {
        let (exec, pid) = self.start_exec(c, opts, self.config.max_log_bytes).await?;
        self.execs.insert(exec.clone());
        // dockerd's exec events: the command after the action's colon, the exec's id as `execID`.
        let exec_id = || ("execID", exec.id.clone());
        let command = exec.args.join(" ");
        self.container_event(c, &format!("exec_create: {command}"), &[exec_id()]);
        self.container_event(c, &format!("exec_start: {command}"), &[exec_id()]);
        let (e, this) = (exec.clone(), self.clone());
        tokio::spawn(async move {
            let code = super::io::reap(pid).await;
            e.io.finish().await;
            let code = code.unwrap_or(255);
            this.container_event(
                &e.container,
                "exec_die",
                &[("execID", e.id.clone()), ("exitCode", code.to_string())],
            );
            e.exit.send_replace(Some(code));
        });
        Ok(exec)
    }

    /// [`Runner::exec`]'s process, started but neither listed nor reaped (a healthcheck probe reaps its own):
    /// the exec and its host pid; its output kept up to `max_log_bytes`.
    pub(crate) async fn start_exec(
        self: &Arc<Self>,
        c: &Arc<Container>,
        opts: ExecOptions,
        max_log_bytes: usize,
    ) -> Result<(Arc<Exec>, i32), RunnerError> {
        if c.state().status != Status::Running {
            return Err(RunnerError::Conflict(format!(
                "container {} is not running",
                c.name
            )));
        }
        if opts.cmd.is_empty() {
            return Err(RunnerError::Spec(spec::SpecError::NoCommand));
        }
        let id = super::random_id();
        let base = Spec::load(c.dir.join("config.json")).map_err(|e| RunnerError::Spec(e.into()))?;
        let mut process = base
            .process()
            .clone()
            .ok_or(RunnerError::Spec(spec::SpecError::NoCommand))?;
        process.set_args(Some(opts.cmd.clone()));
        process.set_terminal(Some(opts.tty));
        if let Some(w) = &opts.workdir {
            process.set_cwd(PathBuf::from(w));
        }
        if let Some(u) = &opts.user {
            let user = users::resolve_in_root(u, &c.dir.join("rootfs"))?;
            let proc_user = process.user_mut();
            proc_user.set_uid(user.uid);
            proc_user.set_gid(user.gid);
            proc_user.set_additional_gids(Some(user.additional_gids));
        }
        let base_env = process.env().clone().unwrap_or_default();
        let mut env: Vec<String> = base_env
            .into_iter()
            .filter(|e| {
                let key = e.split('=').next().unwrap_or_default();
                !opts.env.iter().any(|o| o.split('=').next() == Some(key))
            })
            .collect();
        env.extend(opts.env.iter().filter(|e| e.contains('=')).cloned());
        process.set_env(Some(env));
        let process_file = c.dir.join(format!("exec-{}.json", &id[..12]));
        let json = serde_json::to_vec(&process).map_err(|e| io_ctx("exec process")(e.into()))?;
        std::fs::write(&process_file, json).map_err(io_ctx("writing the exec process"))?;

        let exec = Arc::new(Exec {
            id: id.clone(),
            container: c.clone(),
            args: opts.cmd.clone(),
            io: ProcessIo::new(max_log_bytes),
            exit: watch::channel(None).0,
        });
        let name = format!("exec-{}", &id[..12]);
        let sock = c.dir.join(format!("{}.sock", &id[..8]));
        let launched = exec
            .io
            .launch(opts.tty, opts.interactive, &sock, |sock, stdio| {
                let (runc, cid, dir, name, file) = (&self.runc, &c.id, &c.dir, &name, &process_file);
                async move { runc.exec(cid, dir, name, file, sock.as_deref(), stdio).await }
            })
            .await;
        let _ = std::fs::remove_file(&process_file);
        Ok((exec, launched?))
    }
}
