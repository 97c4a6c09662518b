//! The layer worker pool's bookkeeping, without the browser: which worker does which job, what waits, when
//! to start another worker, and the bytes done of the jobs in flight (the progress bar). The wasm side
//! (`ui::layer_pool`) carries out the commands it returns. Also the messages between the page and its workers
//! ([`WorkerJob`] for a layer worker, [`ArchiveJob`] for the archive worker, [`WorkerReport`] back).

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::project_archive::{self, files_from_buffer, files_to_buffer, ArchiveFile};

/// Page → worker: gzip and hash job `job`'s tar (the tar's buffer is transferred beside this message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerJob {
    pub job: u64,
    /// The gzip level.
    pub level: u32,
}

/// Page → archive worker: the project archive's zip work (`ui::archive_jobs` starts a worker for each), so the
/// page's module holds no zip code. The buffer beside it: the files' bytes one after another (`zip`), or the zip (`unzip`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum ArchiveJob {
    /// Zip these folders and files; answered by [`WorkerReport::Zipped`].
    Zip {
        folders: Vec<String>,
        files: Vec<ArchiveFile>,
    },
    /// Unzip the dropped archive `name`; answered by [`WorkerReport::Unzipped`] or [`WorkerReport::Unreadable`].
    Unzip { name: String },
}

impl ArchiveJob {
    /// Does the job on `buffer` (in the worker): the report and the buffer to send back beside it.
    pub fn run(self, buffer: &[u8]) -> (WorkerReport, Option<Vec<u8>>) {
        match self {
            ArchiveJob::Zip { folders, files } => match files_from_buffer(files, buffer) {
                Some(files) => {
                    let zip = project_archive::zip(
                        &folders,
                        files.iter().map(|(path, file)| (path.as_str(), file)),
                    );
                    (WorkerReport::Zipped, Some(zip))
                }
                None => {
                    let reason = "the file sizes do not match the buffer".to_string();
                    (WorkerReport::Unreadable { reason }, None)
                }
            },
            ArchiveJob::Unzip { name } => match project_archive::unpack_zip(&name, buffer) {
                Ok(unpacked) => {
                    let (files, data) = files_to_buffer(unpacked.files.iter().map(|(p, f)| (p.as_str(), f)));
                    let folders = unpacked.folders;
                    (WorkerReport::Unzipped { folders, files }, Some(data))
                }
                Err(super::project::ProjectError::Archive { reason, .. }) => {
                    (WorkerReport::Unreadable { reason }, None)
                }
                Err(e) => (
                    WorkerReport::Unreadable {
                        reason: e.to_string(),
                    },
                    None,
                ),
            },
        }
    }
}

/// Worker → page: how a worker is doing (`done` carries the gzip bytes' buffer beside it, transferred).
/// Externally tagged (`{"done": {...}}`), serde's default: an internally tagged enum costs the page's wasm 2.4 KB
/// gzipped more, for a format only our two wasm modules read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerReport {
    /// The worker listens for jobs.
    Ready,
    /// `done` tar bytes of `job` are gzipped and hashed (every few MiB).
    Progress {
        job: u64,
        done: u64,
    },
    /// The job's layer: its digests and sizes.
    Done {
        job: u64,
        diff_id: String,
        digest: String,
        tar_size: u64,
        size: u64,
    },
    Error {
        job: u64,
        message: String,
    },
    /// An [`ArchiveJob::Zip`]'s zip is in the buffer beside it.
    Zipped,
    /// An [`ArchiveJob::Unzip`]'s files (their bytes one after another in the buffer beside it) and empty folders.
    Unzipped {
        folders: Vec<String>,
        files: Vec<ArchiveFile>,
    },
    /// An archive job failed: why (a dropped archive that is not a zip, or an unsafe one).
    Unreadable {
        reason: String,
    },
}

impl WorkerReport {
    /// The job the report is about (none for `ready`).
    pub fn job(&self) -> Option<u64> {
        match self {
            WorkerReport::Ready
            | WorkerReport::Zipped
            | WorkerReport::Unzipped { .. }
            | WorkerReport::Unreadable { .. } => None,
            WorkerReport::Progress { job, .. }
            | WorkerReport::Done { job, .. }
            | WorkerReport::Error { job, .. } => Some(*job),
        }
    }
}

/// Upper bound on workers, whatever `navigator.hardwareConcurrency` says: each holds a wasm instance.
pub const MAX_WORKERS: usize = 8;

/// What the pool must do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolCommand {
    /// Start one more worker (it reports ready later under the next worker number).
    Spawn,
    /// Post job `job` to worker `worker`.
    Send { worker: usize, job: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Starting,
    Idle,
    Busy(u64),
    /// Failed to load or crashed: never given work again.
    Dead,
}

/// Jobs and workers of the pool.
#[derive(Debug, Clone)]
pub struct PoolBook {
    cap: usize,
    workers: Vec<Slot>,
    queue: VecDeque<u64>,
    /// Tar bytes done and total of each job since the pool was last idle.
    jobs: BTreeMap<u64, (u64, u64)>,
    next_job: u64,
}

impl PoolBook {
    /// A pool of at most `cores` workers (at least 1, at most [`MAX_WORKERS`]).
    pub fn new(cores: usize) -> Self {
        PoolBook {
            cap: cores.clamp(1, MAX_WORKERS),
            workers: Vec::new(),
            queue: VecDeque::new(),
            jobs: BTreeMap::new(),
            next_job: 1,
        }
    }

    /// How many workers the pool may run.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// A new job of `tar_bytes`: its id and what to do (send it to an idle worker, or start one).
    pub fn submit(&mut self, tar_bytes: u64) -> (u64, Vec<PoolCommand>) {
        if self.jobs.values().all(|(done, total)| done == total) && self.queue.is_empty() {
            // A new batch: the bar restarts from zero.
            self.jobs.clear();
        }
        let job = self.next_job;
        self.next_job += 1;
        self.jobs.insert(job, (0, tar_bytes));
        self.queue.push_back(job);
        (job, self.dispatch())
    }

    /// Worker `worker` (numbered in spawn order) finished loading.
    pub fn ready(&mut self, worker: usize) -> Vec<PoolCommand> {
        if let Some(slot @ Slot::Starting) = self.workers.get_mut(worker) {
            *slot = Slot::Idle;
        }
        self.dispatch()
    }

    /// Job `job` has `done` tar bytes behind it.
    pub fn progress(&mut self, job: u64, done: u64) {
        if let Some((d, total)) = self.jobs.get_mut(&job) {
            *d = done.min(*total);
        }
    }

    /// Worker `worker` finished its job (with a result or an error): the worker takes the next one.
    pub fn finished(&mut self, worker: usize) -> Vec<PoolCommand> {
        if let Some(slot) = self.workers.get_mut(worker) {
            if let Slot::Busy(job) = *slot {
                if let Some((d, total)) = self.jobs.get_mut(&job) {
                    *d = *total;
                }
                *slot = Slot::Idle;
            }
        }
        self.dispatch()
    }

    /// Worker `worker` is gone (failed to load, crashed): the job it had, to fail; what waits goes to others.
    pub fn lost(&mut self, worker: usize) -> (Option<u64>, Vec<PoolCommand>) {
        let job = match self.workers.get_mut(worker) {
            Some(slot) => {
                let job = match *slot {
                    Slot::Busy(job) => Some(job),
                    _ => None,
                };
                *slot = Slot::Dead;
                job
            }
            None => None,
        };
        if let Some(job) = job {
            self.jobs.remove(&job);
        }
        (job, self.dispatch())
    }

    /// Jobs waiting for a worker when no worker can ever take them (all dead, none may start): to fail.
    pub fn stranded(&mut self) -> Vec<u64> {
        let alive = self.workers.iter().any(|s| *s != Slot::Dead);
        if alive || self.workers.len() < self.cap {
            return Vec::new();
        }
        let stranded: Vec<u64> = self.queue.drain(..).collect();
        for job in &stranded {
            self.jobs.remove(job);
        }
        stranded
    }

    /// Tar bytes done and total over the current batch of jobs.
    pub fn bytes(&self) -> (u64, u64) {
        self.jobs
            .values()
            .fold((0, 0), |(d, t), (done, total)| (d + done, t + total))
    }

    /// Whether any job is waiting or running.
    pub fn active(&self) -> bool {
        !self.queue.is_empty() || self.workers.iter().any(|s| matches!(s, Slot::Busy(_)))
    }

    /// Waiting jobs to idle workers; one more worker per job nobody can take, up to the cap.
    fn dispatch(&mut self) -> Vec<PoolCommand> {
        let mut commands = Vec::new();
        for (worker, slot) in self.workers.iter_mut().enumerate() {
            if *slot != Slot::Idle {
                continue;
            }
            let Some(job) = self.queue.pop_front() else {
                break;
            };
            *slot = Slot::Busy(job);
            commands.push(PoolCommand::Send { worker, job });
        }
        let starting = self.workers.iter().filter(|s| **s == Slot::Starting).count();
        let mut unserved = self.queue.len().saturating_sub(starting);
        while unserved > 0 && self.workers.len() < self.cap {
            self.workers.push(Slot::Starting);
            commands.push(PoolCommand::Spawn);
            unserved -= 1;
        }
        commands
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_messages_round_trip() {
        let job = WorkerJob { job: 3, level: 6 };
        let text = serde_json::to_string(&job).unwrap();
        assert_eq!(serde_json::from_str::<WorkerJob>(&text).unwrap(), job);
        for report in [
            WorkerReport::Ready,
            WorkerReport::Progress {
                job: 3,
                done: 4 << 20,
            },
            WorkerReport::Done {
                job: 3,
                diff_id: "sha256:00".into(),
                digest: "sha256:01".into(),
                tar_size: 10,
                size: 5,
            },
            WorkerReport::Error {
                job: 3,
                message: "out of memory".into(),
            },
        ] {
            let text = serde_json::to_string(&report).unwrap();
            assert_eq!(
                serde_json::from_str::<WorkerReport>(&text).unwrap(),
                report,
                "{text}"
            );
        }
        assert_eq!(WorkerReport::Ready.job(), None);
    }

    #[test]
    fn archive_jobs_zip_and_unzip_through_their_buffers() {
        use super::super::project::ProjectFile;
        let script = ProjectFile {
            data: b"#!/bin/sh\n".to_vec(),
            mode: 0o755,
        };
        let files = [("app/run.sh", &script), ("empty.txt", &ProjectFile::new(""))];
        let (listed, data) = files_to_buffer(files);
        let job = ArchiveJob::Zip {
            folders: vec!["logs".into()],
            files: listed,
        };
        let text = serde_json::to_string(&job).unwrap();
        assert_eq!(serde_json::from_str::<ArchiveJob>(&text).unwrap(), job, "{text}");
        let (WorkerReport::Zipped, Some(zip)) = job.run(&data) else {
            panic!("no zip")
        };
        let (report, data) = ArchiveJob::Unzip { name: "p.zip".into() }.run(&zip);
        let text = serde_json::to_string(&report).unwrap();
        assert_eq!(
            serde_json::from_str::<WorkerReport>(&text).unwrap(),
            report,
            "{text}"
        );
        let WorkerReport::Unzipped {
            folders,
            files: listed,
        } = report
        else {
            panic!("{report:?}")
        };
        assert_eq!(folders, ["logs"]);
        let back = files_from_buffer(listed, &data.unwrap()).unwrap();
        let back: Vec<_> = back.iter().map(|(p, f)| (p.as_str(), f)).collect();
        assert_eq!(back, files);
        // Not a zip, or sizes that do not add up to the buffer: refused with the reason, nothing panics.
        let (report, _) = ArchiveJob::Unzip { name: "x.zip".into() }.run(b"PK\x03\x04 no zip");
        assert!(matches!(report, WorkerReport::Unreadable { .. }), "{report:?}");
        let short = ArchiveJob::Zip {
            folders: vec![],
            files: vec![ArchiveFile {
                path: "a".into(),
                mode: 0o644,
                size: 9,
            }],
        };
        assert!(matches!(
            short.run(b"abc"),
            (WorkerReport::Unreadable { .. }, None)
        ));
        assert_eq!(files_from_buffer(vec![], b"extra"), None);
    }
    use PoolCommand::*;

    #[test]
    fn jobs_start_workers_up_to_the_cap_then_queue() {
        let mut pool = PoolBook::new(2);
        assert_eq!(pool.submit(100), (1, vec![Spawn]));
        assert_eq!(pool.submit(50), (2, vec![Spawn]));
        // Two workers starting for two jobs: the third waits.
        assert_eq!(pool.submit(10), (3, vec![]));
        assert_eq!(pool.ready(1), vec![Send { worker: 1, job: 1 }]);
        assert_eq!(pool.ready(0), vec![Send { worker: 0, job: 2 }]);
        assert_eq!(pool.finished(1), vec![Send { worker: 1, job: 3 }]);
        assert!(pool.active());
        assert_eq!(pool.finished(0), vec![]);
        assert_eq!(pool.finished(1), vec![]);
        assert!(!pool.active());
        assert_eq!(pool.cap(), 2);
    }

    #[test]
    fn progress_sums_the_batch_and_restarts_after_it() {
        let mut pool = PoolBook::new(4);
        let (a, _) = pool.submit(100);
        let (b, _) = pool.submit(300);
        pool.ready(0);
        pool.ready(1);
        pool.progress(a, 40);
        pool.progress(b, 500); // more than the job: clamped
        assert_eq!(pool.bytes(), (340, 400));
        pool.finished(0);
        pool.finished(1);
        assert_eq!(pool.bytes(), (400, 400));
        let _ = pool.submit(10);
        assert_eq!(pool.bytes(), (0, 10));
    }

    #[test]
    fn idle_workers_are_reused_before_spawning() {
        let mut pool = PoolBook::new(4);
        let _ = pool.submit(1);
        pool.ready(0);
        pool.finished(0);
        assert_eq!(pool.submit(1), (2, vec![Send { worker: 0, job: 2 }]));
    }

    #[test]
    fn a_lost_worker_fails_its_job_and_strands_the_queue_when_none_is_left() {
        let mut pool = PoolBook::new(1);
        let _ = pool.submit(1);
        let _ = pool.submit(2);
        pool.ready(0);
        assert_eq!(pool.lost(0), (Some(1), vec![]));
        assert_eq!(pool.stranded(), vec![2]);
        assert!(!pool.active());
        assert_eq!(PoolBook::new(0).cap(), 1);
        assert_eq!(PoolBook::new(64).cap(), MAX_WORKERS);
    }
}
