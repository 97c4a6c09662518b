//! A second real registry for tests and benchmarks: Debian's CNCF distribution server (`docker-registry`) on a
//! free loopback port, storage under a given directory, killed on drop.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};

pub struct Distribution {
    child: Child,
    pub addr: String,
}

impl Distribution {
    pub async fn start(dir: &Path) -> anyhow::Result<Distribution> {
        std::fs::create_dir_all(dir)?;
        let addr = format!("127.0.0.1:{}", super::free_port());
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
                dir.join("storage").display()
            ),
        )?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context(
                "docker-registry is missing: apt-get install docker-registry (scripts/setup.sh --test does)",
            )?;
        let registry = Distribution { child, addr };
        for _ in 0..200 {
            let ready = reqwest::get(format!("http://{}/v2/", registry.addr)).await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return Ok(registry);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("docker-registry did not answer on {}", registry.addr)
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
