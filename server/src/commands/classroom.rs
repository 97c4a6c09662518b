//! `slipway classroom init [FILE]` and `slipway classroom cards`.

use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum ClassroomCommand {
    /// Write a commented example classroom file (to FILE, which must not exist yet; without FILE to stdout).
    Init { file: Option<PathBuf> },
    /// Print a page of sign-in cards (HTML, printable): each member's name and join code, and where to sign
    /// in. Codes not in the file are made now and kept in the data directory, as `slipway serve` does.
    Cards(CardsArgs),
}

#[derive(Debug, clap::Args)]
pub struct CardsArgs {
    /// The classroom file (`slipway serve --classroom`).
    #[arg(long, value_name = "FILE", env = "SLIPWAY_CLASSROOM")]
    pub classroom: PathBuf,
    /// The data directory `slipway serve` uses (the codes are kept there).
    #[arg(long, env = "SLIPWAY_DATA")]
    pub data: PathBuf,
    /// The address learners open, as printed on the cards (`http://192.168.1.10:8080`).
    #[arg(long)]
    pub url: String,
}

pub fn run(command: ClassroomCommand) -> anyhow::Result<()> {
    use std::io::Write;
    match command {
        ClassroomCommand::Init { file: None } => {
            std::io::stdout().write_all(crate::classroom::config::EXAMPLE.as_bytes())?;
        }
        ClassroomCommand::Init { file: Some(file) } => {
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&file)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", file.display()))?;
            out.write_all(crate::classroom::config::EXAMPLE.as_bytes())?;
            eprintln!(
                "wrote {0}: edit it, then `slipway serve --classroom {0}`",
                file.display()
            );
        }
        ClassroomCommand::Cards(args) => {
            let classroom = crate::classroom::Classroom::open(&args.classroom, &args.data)?;
            let html = crate::classroom::cards::cards_html(&classroom.roster(), &args.url);
            std::io::stdout().write_all(html.as_bytes())?;
        }
    }
    Ok(())
}
