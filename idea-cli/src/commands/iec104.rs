//! `idea iec104 interrogate|command|monitor`: a controlled station poked by hand or watched, over TCP or mutual
//! TLS.

use crate::failure::Failure;
use crate::output::pretty;
use clap::Subcommand;
use std::io::Write;

#[derive(Debug, Subcommand)]
pub(crate) enum Iec104Command {
    /// Station (QOI 20) or group interrogation: connect, STARTDT, C_IC_NA_1, print every object reported.
    Interrogate {
        #[command(flatten)]
        station: StationArgs,
        /// Qualifier of interrogation: 20 the station, 21–36 groups 1–16.
        #[arg(long, default_value_t = 20, conflicts_with = "counters")]
        qoi: u8,
        /// A counter interrogation instead (C_CI_NA_1, every counter): the integrated totals.
        #[arg(long)]
        counters: bool,
        /// Print JSON: an array of ASDUs {"type_id", "type", "cot", "negative", "common_address",
        /// "objects": [{"ioa", "value", "quality", "time"}], …}.
        #[arg(long)]
        json: bool,
    },
    /// Send one command (activation) and report its confirmation and termination. Exits 1 when the station
    /// confirms negatively.
    Command {
        #[command(flatten)]
        station: StationArgs,
        /// Information object address.
        #[arg(long)]
        ioa: u32,
        /// The command type by name or number: C_SC_NA_1, C_DC_NA_1, C_RC_NA_1, C_SE_NA_1, C_SE_NB_1, C_SE_NC_1,
        /// C_BO_NA_1, or their time-tagged forms (…_TA_1, C_SE_TB_1, C_SE_TC_1; tagged with the time now).
        #[arg(long = "type", value_parser = parse_command_type)]
        type_id: u8,
        /// The value: single command 0/1, double command 1 (off) / 2 (on), step 1 (lower) / 2 (higher),
        /// normalised set-point −1…1, scaled set-point an integer, float set-point a number, bit string an
        /// unsigned integer.
        #[arg(long, allow_hyphen_values = true)]
        value: f64,
        /// Select instead of execute (select-before-operate: send again without --select to execute).
        #[arg(long)]
        select: bool,
        /// QU of a single/double/step command (0–31) or QL of a set-point (0–127).
        #[arg(long, default_value_t = 0)]
        qualifier: u8,
        /// Print JSON: {"confirmed", "terminated", "answers": [ASDU, …]}.
        #[arg(long)]
        json: bool,
    },
    /// Stay connected as a controlling station: start data transfer, interrogate and synchronise the clock at
    /// every start if asked, print every report as it comes, connect again whenever the connection ends (the
    /// reference controlling station `iec104-controlling` certifies). Runs until Ctrl-C or --for.
    Monitor {
        /// The station, HOST:PORT (e.g. localhost:2404).
        #[arg(required_unless_present = "list_faults")]
        address: Option<String>,
        /// Common address of the ASDU.
        #[arg(long, default_value_t = 1)]
        common_address: u16,
        /// Seconds to wait for each connection (t0) and each answer at start.
        #[arg(long, default_value_t = 5.0)]
        timeout: f64,
        #[command(flatten)]
        tls: crate::tls_args::ClientTlsArgs,
        /// Interrogate the station (QOI 20) every time data transfer starts.
        #[arg(long)]
        interrogate: bool,
        /// Synchronise the station's clock (C_CS_NA_1, the time now) every time data transfer starts.
        #[arg(long)]
        clock_sync: bool,
        /// t1, seconds: a frame sent and not confirmed this long closes the connection.
        #[arg(long, default_value_t = 15.0)]
        t1: f64,
        /// t2, seconds: received I frames are acknowledged within this (below t1).
        #[arg(long, default_value_t = 10.0)]
        t2: f64,
        /// t3, seconds: an idle connection is tested after this.
        #[arg(long, default_value_t = 20.0)]
        t3: f64,
        /// k: most unacknowledged I frames sent.
        #[arg(long, default_value_t = 12)]
        k: u16,
        /// w: acknowledge at the latest after this many I frames.
        #[arg(long, default_value_t = 8)]
        w: u16,
        /// Seconds between connection attempts.
        #[arg(long, default_value_t = 5.0)]
        reconnect_delay: f64,
        /// Stop after this many seconds.
        #[arg(long = "for", value_name = "SECONDS")]
        run_for: Option<f64>,
        /// Print JSON lines: {"event": "started"|"lost"|"data"|"clock-sync"|"failed", …}, data as ASDUs.
        #[arg(long)]
        json: bool,
        /// Misbehave as NAME (through a relay in front of the station, plain TCP only): a faulty controlling
        /// station to prove the iec104-controlling suite.
        #[arg(long, value_name = "NAME", conflicts_with = "list_faults")]
        fault: Option<String>,
        /// Print the fault names, one a line, with what each does, and exit.
        #[arg(long)]
        list_faults: bool,
    },
}

/// Seconds from the command line as a duration: positive and finite.
fn seconds(flag: &str, value: f64) -> Result<std::time::Duration, Failure> {
    std::time::Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Failure::Usage(format!("--{flag} {value}: a positive number of seconds")))
}

/// How to reach a controlled station.
#[derive(Debug, clap::Args)]
pub(crate) struct StationArgs {
    /// The station, HOST:PORT (e.g. localhost:2404).
    address: String,
    /// Common address of the ASDU.
    #[arg(long, default_value_t = 1)]
    common_address: u16,
    /// Seconds to wait for the connection and then for each answer.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    #[command(flatten)]
    tls: crate::tls_args::ClientTlsArgs,
}

impl StationArgs {
    fn target(&self) -> Result<idea_cli::iec104_client::Target, Failure> {
        use idea_cli::iec104_client::Target;
        let timeout = seconds("timeout", self.timeout)?;
        Ok(Target {
            address: self.address.clone(),
            tls: self.tls.files(),
            timeout,
        })
    }
}

/// A command type by name (`C_SE_NC_1`) or number (50).
pub(crate) fn parse_command_type(text: &str) -> Result<u8, String> {
    let info = match text.parse::<u8>() {
        Ok(id) => iec104::type_info(id),
        Err(_) => iec104::type_by_name(&text.to_ascii_uppercase()),
    };
    info.filter(|t| (45..=51).contains(&t.id) || (58..=64).contains(&t.id))
        .map(|t| t.id)
        .ok_or_else(|| {
            format!("{text:?} is not a command type (C_SC_NA_1 … C_BO_NA_1, 45–51, 58–64)")
        })
}

/// `idea iec104 interrogate|command`.
pub(crate) fn run(command: Iec104Command) -> Result<String, Failure> {
    use idea_cli::iec104_client;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    match command {
        Iec104Command::Interrogate {
            station,
            qoi,
            counters,
            json,
        } => {
            let target = station.target()?;
            let data = if counters {
                runtime.block_on(iec104_client::interrogate_counters(
                    &target,
                    station.common_address,
                ))?
            } else {
                runtime.block_on(iec104_client::interrogate(
                    &target,
                    station.common_address,
                    qoi,
                ))?
            };
            if json {
                let asdus: Vec<_> = data.iter().map(iec104::view::asdu_json).collect();
                Ok(pretty(&asdus)?)
            } else if data.is_empty() {
                Ok(format!("{}: no objects reported\n", station.address))
            } else {
                Ok(iec104::view::points_text(&data))
            }
        }
        Iec104Command::Monitor {
            address,
            common_address,
            timeout,
            tls,
            interrogate,
            clock_sync,
            t1,
            t2,
            t3,
            k,
            w,
            reconnect_delay,
            run_for,
            json,
            fault,
            list_faults,
        } => {
            use idea_sim::fault_iec104_controlling::ControllingFault;
            if list_faults {
                return Ok(ControllingFault::ALL
                    .iter()
                    .map(|f| format!("{:<32} {}\n", f.name(), f.describe()))
                    .collect());
            }
            let station = StationArgs {
                address: address
                    .ok_or_else(|| Failure::Usage("the station's address is needed".into()))?,
                common_address,
                timeout,
                tls,
            };
            let mut target = station.target()?;
            let fault = fault
                .map(|name| {
                    ControllingFault::by_name(&name).ok_or_else(|| {
                        Failure::Usage(format!("unknown fault {name:?}; --list-faults prints them"))
                    })
                })
                .transpose()?;
            if fault.is_some() && target.tls.is_some() {
                return Err(Failure::Usage(
                    "--fault rewrites frames on plain TCP: it cannot be used with TLS".into(),
                ));
            }
            let monitor = iec104_client::Monitor {
                common_address: station.common_address,
                interrogate,
                clock_sync,
                link: iec104::link::LinkParams {
                    k,
                    w,
                    t0: target.timeout,
                    t1: seconds("t1", t1)?,
                    t2: seconds("t2", t2)?,
                    t3: seconds("t3", t3)?,
                },
                reconnect_delay: seconds("reconnect-delay", reconnect_delay)?,
                run_for: run_for.map(|s| seconds("for", s)).transpose()?,
            };
            let address = station.address.clone();
            let print = move |event: iec104_client::MonitorEvent| {
                let line = monitor_line(&address, &event, json);
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(line.as_bytes());
                let _ = out.flush();
            };
            runtime.block_on(async {
                if let Some(fault) = fault {
                    target.address = faulty_front(&target.address, fault).await?;
                }
                tokio::select! {
                    done = iec104_client::monitor(&target, &monitor, print) => done.map_err(Failure::from),
                    stop = tokio::signal::ctrl_c() => stop.map_err(|e| Failure::from(e.to_string())),
                }
            })?;
            Ok(String::new())
        }
        Iec104Command::Command {
            station,
            ioa,
            type_id,
            value,
            select,
            qualifier,
            json,
        } => {
            let target = station.target()?;
            let tagged = (58..=64).contains(&type_id);
            let time = if tagged {
                let stamp = crate::output::wall_clock()?;
                Some(
                    iec104::Cp56Time2a::from_timestamp(stamp)
                        .ok_or_else(|| "the clock is outside CP56Time2a".to_owned())?,
                )
            } else {
                None
            };
            let command = iec104::Command {
                type_id,
                common_address: station.common_address,
                ioa,
                value,
                select,
                qualifier,
                time,
            };
            let outcome = runtime.block_on(iec104_client::command(&target, &command))?;
            let verdict = match (outcome.confirmed, outcome.terminated) {
                (true, true) => "confirmed and terminated",
                (true, false) => "confirmed",
                (false, _) => "refused (negative confirmation)",
            };
            let text = if json {
                let answers: Vec<_> = outcome
                    .answers
                    .iter()
                    .map(iec104::view::asdu_json)
                    .collect();
                pretty(&serde_json::json!({
                    "confirmed": outcome.confirmed,
                    "terminated": outcome.terminated,
                    "answers": answers,
                }))?
            } else {
                format!("{}: IOA {ioa}: {verdict}\n", station.address)
            };
            if outcome.confirmed {
                Ok(text)
            } else {
                // The answer is still printed: a refusal is the station's verdict, shown in full.
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(text.as_bytes());
                Err(Failure::Check(format!(
                    "{}: IOA {ioa}: the station refused the command",
                    station.address
                )))
            }
        }
    }
}

/// One event of `idea iec104 monitor` as printed: a line of text, or a JSON line.
fn monitor_line(
    address: &str,
    event: &idea_cli::iec104_client::MonitorEvent,
    json: bool,
) -> String {
    use idea_cli::iec104_client::MonitorEvent;
    if json {
        let value = match event {
            MonitorEvent::Started(n) => serde_json::json!({"event": "started", "start": n}),
            MonitorEvent::Lost(why) => serde_json::json!({"event": "lost", "reason": why}),
            MonitorEvent::Data(asdus) => serde_json::json!({
                "event": "data",
                "asdus": asdus.iter().map(iec104::view::asdu_json).collect::<Vec<_>>(),
            }),
            MonitorEvent::ClockSynchronised(ok) => {
                serde_json::json!({"event": "clock-sync", "confirmed": ok})
            }
            MonitorEvent::RequestFailed(why) => {
                serde_json::json!({"event": "failed", "reason": why})
            }
        };
        return format!("{value}\n");
    }
    match event {
        MonitorEvent::Started(n) => format!("{address}: data transfer started (connection {n})\n"),
        MonitorEvent::Lost(why) => format!("{address}: connection lost: {why}\n"),
        MonitorEvent::Data(asdus) if asdus.is_empty() => String::new(),
        MonitorEvent::Data(asdus) => iec104::view::points_text(asdus),
        MonitorEvent::ClockSynchronised(true) => format!("{address}: clock synchronised\n"),
        MonitorEvent::ClockSynchronised(false) => {
            format!("{address}: the station refused the clock synchronisation\n")
        }
        MonitorEvent::RequestFailed(why) => format!("{why}\n"),
    }
}

/// Starts the relay that makes the monitor misbehave as `fault`; gives the address the monitor connects to.
async fn faulty_front(
    station: &str,
    fault: idea_sim::fault_iec104_controlling::ControllingFault,
) -> Result<String, Failure> {
    let upstream = tokio::net::lookup_host(station)
        .await
        .map_err(|e| Failure::Usage(format!("{station}: {e}")))?
        .next()
        .ok_or_else(|| Failure::Usage(format!("{station}: no address")))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Failure::from(format!("the fault relay: {e}")))?;
    let front = listener
        .local_addr()
        .map_err(|e| Failure::from(format!("the fault relay: {e}")))?;
    tokio::spawn(idea_sim::fault_iec104_controlling::relay(
        listener, upstream, fault,
    ));
    Ok(front.to_string())
}
