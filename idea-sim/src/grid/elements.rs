//! The elements of the microgrid model and what each does in one step. Every element reports `p_w` and
//! `q_var` as what it delivers **into its bus** (a load's are negative).

use ng_control::der::{Category, Curve, Droop, FirstOrderLag, Ieee1547};
use ng_control::protection::Overcurrent;

/// A load following its daily shape, plus any step a script or test adds.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// Its name.
    pub name: String,
    /// Its bus.
    pub bus: usize,
    /// Peak demand, W.
    pub peak_w: f64,
    /// tan φ of its power factor.
    pub tan_phi: f64,
    /// Its daily shape.
    pub shape: [f64; 24],
    /// Demand added on top of the shape, W (a load step).
    pub extra_w: f64,
    /// Delivered into the bus, W (negative).
    pub p_w: f64,
    /// Delivered into the bus, var.
    pub q_var: f64,
}

/// A PV array at unity power factor.
#[derive(Debug, Clone, PartialEq)]
pub struct Pv {
    /// Its name.
    pub name: String,
    /// Its bus.
    pub bus: usize,
    /// Peak power at 1000 W/m², W.
    pub peak_w: f64,
    /// Delivered, W.
    pub p_w: f64,
}

/// A diesel or CHP generator with a ramp limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Diesel {
    /// Its name.
    pub name: String,
    /// Its bus.
    pub bus: usize,
    /// Rating, W.
    pub rating_w: f64,
    /// Lowest output while running, W.
    pub min_w: f64,
    /// Fastest change, W/s.
    pub ramp_w_per_s: f64,
    /// Running (commanded).
    pub running: bool,
    /// Output asked for, W.
    pub setpoint_w: f64,
    /// Delivered, W.
    pub p_w: f64,
}

impl Diesel {
    /// Moves the output toward the setpoint (within min and rating while running, to zero when stopped) at
    /// no more than the ramp rate.
    pub fn step(&mut self, dt_s: f64) {
        let target = if self.running {
            self.setpoint_w.clamp(self.min_w, self.rating_w)
        } else {
            0.0
        };
        let most = self.ramp_w_per_s * dt_s;
        self.p_w += (target - self.p_w).clamp(-most, most);
    }
}

/// A battery behind a converter: a grid-following battery, or an energy hub's battery.
#[derive(Debug, Clone, PartialEq)]
pub struct Storage {
    /// Its name.
    pub name: String,
    /// Its bus.
    pub bus: usize,
    /// Converter rating, W.
    pub rating_w: f64,
    /// Usable capacity, J.
    pub capacity_j: f64,
    /// One-way efficiency.
    pub efficiency: f64,
    /// State of charge, 0–1.
    pub soc: f64,
    /// Regulation enabled.
    pub enabled: bool,
    /// Power asked for when following, W (positive discharges).
    pub setpoint_w: f64,
    /// Largest charging power allowed, W.
    pub max_charge_w: f64,
    /// Largest discharging power allowed, W.
    pub max_discharge_w: f64,
    /// Fastest change of what it delivers when following, W/s (`None`: at once).
    pub ramp_w_per_s: Option<f64>,
    /// What it delivers when following, moving toward its setpoint at the ramp rate, W.
    pub ramped_w: f64,
    /// Delivered, W (positive discharging).
    pub p_w: f64,
    /// Delivered, var.
    pub q_var: f64,
}

/// Moves `from` toward `target` by at most `ramp × dt` (all the way without a ramp).
fn ramp_toward(from: f64, target: f64, ramp_w_per_s: Option<f64>, dt_s: f64) -> f64 {
    match ramp_w_per_s {
        Some(rate) => {
            let most = rate * dt_s;
            from + (target - from).clamp(-most, most)
        }
        None => target,
    }
}

impl Storage {
    /// Moves what it delivers when following toward [`Storage::following_w`] at its ramp rate over `dt_s`.
    pub fn ramp(&mut self, dt_s: f64) {
        self.ramped_w = ramp_toward(self.ramped_w, self.following_w(), self.ramp_w_per_s, dt_s);
    }

    /// What the converter delivers when it follows its setpoint: within the rating and the allowed rates, and
    /// nothing out of an empty battery or into a full one.
    pub fn following_w(&self) -> f64 {
        if !self.enabled {
            return 0.0;
        }
        let p = self.setpoint_w.clamp(
            -self.max_charge_w.min(self.rating_w),
            self.max_discharge_w.min(self.rating_w),
        );
        if (p > 0.0 && self.soc <= 0.0) || (p < 0.0 && self.soc >= 1.0) {
            0.0
        } else {
            p
        }
    }

    /// Integrates the state of charge over `dt_s` at the delivered power.
    pub fn integrate(&mut self, dt_s: f64) {
        let joules = if self.p_w >= 0.0 {
            -self.p_w * dt_s / self.efficiency
        } else {
            -self.p_w * dt_s * self.efficiency
        };
        self.soc = (self.soc + joules / self.capacity_j).clamp(0.0, 1.0);
    }
}

/// An energy hub: a battery behind a grid-forming converter (NG-H1). It follows its setpoint while something
/// else forms its island's voltage, and forms voltage and frequency (droop, virtual inertia, restoration)
/// when its island has no other source.
#[derive(Debug, Clone, PartialEq)]
pub struct Hub {
    /// The battery and converter.
    pub storage: Storage,
    /// Whether it may form the island's voltage (GridForm).
    pub grid_forming: bool,
    /// Its control settings.
    pub settings: ng_control::hub::HubSettings,
    /// Its connection sensor: the meter at its cell's connection, by index, and the sign that turns that
    /// meter's import into the flow into the hub's bus (`None`: it has none).
    pub connection: Option<(usize, f64)>,
    /// The net export it holds at its connection while it does (SunSpec 64901 `ConnCtl` HOLD), W; negative
    /// imports.
    pub hold_export_w: Option<f64>,
}

impl Hub {
    /// How fast a hub holding its connection closes the gap between the export held and the export measured:
    /// the time constant of its local regulation, s (a model step longer than this closes it at once).
    pub const CONNECTION_TAU_S: f64 = 1.0;

    /// The setpoint that holds the connection over the next `dt_s`, W (positive discharges), given the
    /// connection's import over the last step `import_w`: the setpoint moved by the share of the gap the step
    /// closes (integral action — following the grid, the battery power; forming an island, the dispatch on
    /// the droop), within its charge and discharge limits. `None` while it holds nothing.
    pub fn holding_w(&self, import_w: f64, dt_s: f64) -> Option<f64> {
        let export_w = self.hold_export_w?;
        if !import_w.is_finite() {
            return None;
        }
        let gain = (dt_s / Self::CONNECTION_TAU_S).clamp(0.0, 1.0);
        let s = &self.storage;
        Some((s.setpoint_w + gain * (export_w + import_w)).clamp(
            -s.max_charge_w.min(s.rating_w),
            s.max_discharge_w.min(s.rating_w),
        ))
    }
}

/// A DER inverter with a PV array and the IEEE 1547 volt-var function.
#[derive(Debug, Clone, PartialEq)]
pub struct Der {
    /// Its name.
    pub name: String,
    /// Its bus.
    pub bus: usize,
    /// Rating, VA (and W).
    pub rating_va: f64,
    /// PV array, W at 1000 W/m².
    pub pv_peak_w: f64,
    /// Active power limit, share of the rating (IEEE 1547 clause 4.6.2, limit active power).
    pub max_share: f64,
    /// The volt-var curve in use: V (p.u.) to Q (share of the rating, positive injecting); `None` when the
    /// function is disabled.
    pub volt_var: Option<Curve>,
    /// The volt-var open-loop response.
    pub lag: FirstOrderLag,
    /// Frequency-droop (frequency-watt) settings in use, IEEE 1547 clause 6.5.2.7; `None` when disabled.
    /// Applied at once (its open-loop response time is not modelled).
    pub freq_watt: Option<Droop>,
    /// Delivering (false: ceased to energise, as `opModEnergize` false orders).
    pub energized: bool,
    /// Delivered, W.
    pub p_w: f64,
    /// Delivered, var.
    pub q_var: f64,
}

impl Der {
    /// The IEEE 1547-2018 Category B volt-var default and its response time.
    pub fn default_volt_var() -> (Curve, f64) {
        let c = Ieee1547::volt_var(Category::B);
        (c.curve, c.response_time_s)
    }

    /// One step: reactive power moves toward the curve's value at the bus voltage `v_pu` through the open-loop
    /// response; active power is what the array gives up to the limit, reduced where the rating must hold the
    /// reactive power (reactive priority), and by frequency-watt above nominal + deadband at `f_hz`.
    pub fn step(
        &mut self,
        irradiance_w_per_m2: f64,
        v_pu: f64,
        (f_hz, nominal_hz): (f64, f64),
        dt_s: f64,
    ) {
        if !self.energized {
            self.p_w = 0.0;
            self.q_var = 0.0;
            return;
        }
        let target = match (&self.volt_var, v_pu > 0.0) {
            (Some(curve), true) => curve.eval(v_pu),
            _ => 0.0,
        };
        let capability = Ieee1547::reactive_capability(Category::B);
        let q_share = ng_control::der::limit_reactive(self.lag.step(target, dt_s), capability);
        self.q_var = q_share * self.rating_va;
        let available = self.pv_peak_w * irradiance_w_per_m2 / 1000.0;
        let room = (self.rating_va.powi(2) - self.q_var.powi(2))
            .max(0.0)
            .sqrt();
        let p = available
            .min(self.max_share * self.rating_va)
            .min(room)
            .max(0.0);
        self.p_w = match (&self.freq_watt, f_hz > 0.0 && self.rating_va > 0.0) {
            (Some(droop), true) => {
                let pu = droop.active_power(
                    f_hz,
                    nominal_hz,
                    p / self.rating_va,
                    available.min(room) / self.rating_va,
                    0.0,
                );
                (pu * self.rating_va).clamp(0.0, room)
            }
            _ => p,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der() -> Der {
        let (curve, response) = Der::default_volt_var();
        Der {
            name: "der".into(),
            bus: 0,
            rating_va: 10_000.0,
            pv_peak_w: 8_000.0,
            max_share: 1.0,
            volt_var: Some(curve),
            lag: FirstOrderLag::new(response, 0.0),
            freq_watt: Some(Ieee1547::frequency_droop()),
            energized: true,
            p_w: 0.0,
            q_var: 0.0,
        }
    }

    #[test]
    fn frequency_watt_reduces_output_above_the_deadband_and_not_when_disabled() {
        let mut d = der();
        d.step(1000.0, 1.0, (50.0, 50.0), 0.1);
        assert!((d.p_w - 8_000.0).abs() < 1e-9);
        // 0.5 Hz over nominal, 0.03 Hz deadband at 50 Hz, 5 % droop: (0.5 − 0.03) / 2.5 = 0.188 p.u. less.
        d.step(1000.0, 1.0, (50.5, 50.0), 0.1);
        assert!((d.p_w - (8_000.0 - 1_880.0)).abs() < 1e-6, "{}", d.p_w);
        d.freq_watt = None;
        d.step(1000.0, 1.0, (50.5, 50.0), 0.1);
        assert!((d.p_w - 8_000.0).abs() < 1e-9);
    }
}

/// An energy router between a network port (0) and microgrid ports.
#[derive(Debug, Clone, PartialEq)]
pub struct RouterUnit {
    /// Its name.
    pub name: String,
    /// The bus of each port.
    pub ports: Vec<usize>,
    /// Rating, W.
    pub rating_w: f64,
    /// Efficiency of one conversion.
    pub efficiency: f64,
    /// Regulation enabled.
    pub enabled: bool,
    /// NG-R1..NG-R5 as 1..=5.
    pub mode: u8,
    /// Largest export into the network in NG-R4, W.
    pub grid_export_limit_w: f64,
    /// Requested power into each port's side, W (port 0's is ignored: it balances).
    pub setpoint_w: Vec<f64>,
    /// Requested reactive power into each port's side, var.
    pub q_setpoint_var: Vec<f64>,
    /// Largest power the router takes from each port's side, W.
    pub limit_in_w: Vec<f64>,
    /// Largest power the router delivers into each port's side, W.
    pub limit_out_w: Vec<f64>,
    /// Delivered into each port's side, W.
    pub p_w: Vec<f64>,
    /// Delivered into each port's side, var.
    pub q_var: Vec<f64>,
    /// Whether a request was curtailed in the last step.
    pub limiting: bool,
    /// Ports that form their island's voltage from the network when nothing else does (V/f control).
    pub forms: Vec<bool>,
    /// Ports forming their island this step.
    pub forming: Vec<bool>,
    /// What each forming port's island needed at the last power flow, W.
    pub formed_w: Vec<f64>,
    /// Forming ports whose island needs more than the mode and limits let them carry.
    pub overloaded: Vec<bool>,
    /// When a port that could not hold its island tries again, s of simulated time.
    pub retry_at_s: Vec<f64>,
}

impl RouterUnit {
    /// The port flows for this step: the mode's directions and every port's limits through
    /// `ng_control::router`, then conversion losses (two conversions between any two ports) taken on the
    /// network port, or in NG-R5, on the ports delivering. `live[k]` says whether port k's bus is energised;
    /// a dead port carries nothing.
    pub fn settle(&mut self, live: &[bool]) {
        use ng_control::router::{Mode, PortLimits, Router};
        let n = self.ports.len();
        let zero = vec![0.0; n];
        let grid_live = live.first().copied().unwrap_or(false);
        if !self.enabled || (!grid_live && self.mode != 5) {
            self.p_w = zero.clone();
            self.q_var = zero;
            self.limiting = false;
            return;
        }
        let limit = |v: &[f64], k: usize| {
            if live.get(k).copied().unwrap_or(false) {
                v.get(k).copied().unwrap_or(0.0).clamp(0.0, self.rating_w)
            } else {
                0.0
            }
        };
        let limits = (0..n)
            .map(|k| PortLimits {
                max_out_w: limit(&self.limit_out_w, k),
                max_in_w: limit(&self.limit_in_w, k),
            })
            .collect();
        let sources: Vec<usize> = (1..n)
            .filter(|k| self.setpoint_w.get(*k).is_some_and(|w| *w < 0.0))
            .collect();
        let mode = match self.mode {
            2 => Mode::R2 { sources },
            3 => Mode::R3 {
                limits: (1..n).map(|k| (k, limit(&self.limit_out_w, k))).collect(),
            },
            4 => Mode::R4 {
                grid_export_limit_w: self.grid_export_limit_w.max(0.0),
            },
            5 => Mode::R5 { sources },
            _ => Mode::R1,
        };
        let requests: Vec<f64> = (0..n)
            .map(|k| {
                if !live.get(k).copied().unwrap_or(false) {
                    0.0
                } else if self.forming.get(k).copied().unwrap_or(false) {
                    // A forming port delivers what its island needs.
                    self.formed_w.get(k).copied().unwrap_or(0.0)
                } else {
                    self.setpoint_w.get(k).copied().unwrap_or(0.0)
                }
            })
            .collect();
        let Ok(set) = Router::new(limits).setpoints(&mode, &requests) else {
            self.p_w = zero.clone();
            self.q_var = zero;
            return;
        };
        self.limiting = set.curtailed_w.iter().any(|c| c.abs() > 1e-6);
        self.overloaded = (0..n)
            .map(|k| {
                self.forming.get(k).copied().unwrap_or(false)
                    && set.curtailed_w.get(k).is_some_and(|c| c.abs() > 1e-6)
            })
            .collect();
        let mut p = set.port_w;
        let eta = self.efficiency * self.efficiency;
        let out: f64 = p.iter().skip(1).filter(|w| **w > 0.0).sum();
        let inn: f64 = -p.iter().skip(1).filter(|w| **w < 0.0).sum::<f64>();
        if self.mode == 5 {
            // The network port stays idle: what the sources give, less losses, is what the others get.
            let scale = if out > 0.0 {
                (inn * eta / out).min(1.0)
            } else {
                0.0
            };
            for w in p.iter_mut().skip(1).filter(|w| **w > 0.0) {
                *w *= scale;
            }
            if let Some(g) = p.first_mut() {
                *g = 0.0;
            }
        } else if let Some(g) = p.first_mut() {
            *g = if eta * inn >= out {
                eta * inn - out
            } else {
                inn - out / eta
            };
        }
        self.q_var = (0..n)
            .map(|k| {
                let q = self.q_setpoint_var.get(k).copied().unwrap_or(0.0);
                let pk = p.get(k).copied().unwrap_or(0.0);
                let room = (self.rating_w.powi(2) - pk.powi(2)).max(0.0).sqrt();
                if k == 0 || !live.get(k).copied().unwrap_or(false) {
                    0.0
                } else {
                    q.clamp(-room, room)
                }
            })
            .collect();
        self.p_w = p;
    }
}

/// A two-port converter (an AC/DC energy port, a rectiverter): it delivers its setpoint into its `to` bus and
/// takes it, plus losses, from its `from` bus (or the reverse for a negative setpoint).
#[derive(Debug, Clone, PartialEq)]
pub struct Converter {
    /// Its name.
    pub name: String,
    /// The `from` side's bus.
    pub from: usize,
    /// The `to` side's bus.
    pub to: usize,
    /// Rating, W.
    pub rating_w: f64,
    /// Efficiency.
    pub efficiency: f64,
    /// Enabled.
    pub enabled: bool,
    /// Power asked for into the `to` side, W.
    pub setpoint_w: f64,
    /// Largest power either way, W (at most the rating).
    pub max_w: f64,
    /// Reactive power asked for on the `from` side, var.
    pub q_setpoint_var: f64,
    /// Fastest change of its flow, W/s (`None`: at once).
    pub ramp_w_per_s: Option<f64>,
    /// Its flow into the `to` side, moving toward the setpoint at the ramp rate, W.
    pub ramped_w: f64,
    /// Delivered into the `from` bus, W.
    pub p_from_w: f64,
    /// Delivered into the `to` bus, W.
    pub p_to_w: f64,
    /// Delivered into the `from` bus, var.
    pub q_from_var: f64,
}

impl Converter {
    /// Moves its flow toward the setpoint (within its limit, zero when disabled) at its ramp rate over `dt_s`.
    pub fn ramp(&mut self, dt_s: f64) {
        let most = self.max_w.clamp(0.0, self.rating_w);
        let target = if self.enabled {
            self.setpoint_w.clamp(-most, most)
        } else {
            0.0
        };
        self.ramped_w = ramp_toward(self.ramped_w, target, self.ramp_w_per_s, dt_s);
    }

    /// This step's flows at the ramped setpoint; nothing moves unless both sides are energised.
    pub fn settle(&mut self, from_live: bool, to_live: bool) {
        let most = self.max_w.clamp(0.0, self.rating_w);
        let s = if self.enabled && from_live && to_live {
            self.ramped_w.clamp(-most, most)
        } else {
            0.0
        };
        if s >= 0.0 {
            self.p_to_w = s;
            self.p_from_w = -s / self.efficiency;
        } else {
            self.p_to_w = s;
            self.p_from_w = -s * self.efficiency;
        }
        let room = (self.rating_w.powi(2) - self.p_from_w.powi(2))
            .max(0.0)
            .sqrt();
        self.q_from_var = if s == 0.0 && !(from_live && self.enabled) {
            0.0
        } else {
            self.q_setpoint_var.clamp(-room, room)
        };
    }
}

/// What a meter measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metered {
    /// A branch, by index: import is flow from its `from` bus toward its `to` bus.
    Branch(usize),
    /// An element: import is what it takes from its bus.
    Element(ElementRef),
}

/// A meter integrating what it measures over simulated time.
#[derive(Debug, Clone, PartialEq)]
pub struct Meter {
    /// Its name.
    pub name: String,
    /// What it measures.
    pub at: Metered,
    /// The bus whose voltage it reads.
    pub bus: usize,
    /// Active power imported, W (negative exporting), this step.
    pub p_w: f64,
    /// Reactive power imported, var, this step.
    pub q_var: f64,
    /// Energy imported since the start, Wh.
    pub import_wh: f64,
    /// Energy exported since the start, Wh.
    pub export_wh: f64,
}

impl Meter {
    /// Adds this step's power held over `dt_s`.
    pub fn integrate(&mut self, dt_s: f64) {
        let wh = self.p_w * dt_s / 3600.0;
        if wh >= 0.0 {
            self.import_wh += wh;
        } else {
            self.export_wh -= wh;
        }
    }
}

/// Why a relay last opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TripCause {
    /// It has not opened, or was closed since.
    None,
    /// Its overcurrent element operated.
    Overcurrent,
    /// It was commanded open.
    Command,
}

/// A relay with an inverse-time overcurrent element (NG-05) in front of one element.
#[derive(Debug, Clone, PartialEq)]
pub struct Relay {
    /// Its name.
    pub name: String,
    /// The element it connects.
    pub element: ElementRef,
    /// Its overcurrent element.
    pub overcurrent: Overcurrent,
    /// Closed.
    pub closed: bool,
    /// Why it last opened.
    pub cause: TripCause,
    /// Operations counted.
    pub operations: u32,
    /// Current through it this step, A.
    pub current_a: f64,
    /// How far toward operating the element is (operates at 1): the sum of `dt / t(I)` while above pickup.
    pub progress: f64,
}

impl Relay {
    /// Integrates the overcurrent element over `dt_s` at the step's current; returns how far into the step it
    /// operated (seconds) if it did. Below pickup the element resets at once.
    pub fn integrate(&mut self, dt_s: f64) -> Option<f64> {
        if !self.closed {
            return None;
        }
        let Some(t_op) = self.overcurrent.operate_time_s(self.current_a) else {
            self.progress = 0.0;
            return None;
        };
        let needed = (1.0 - self.progress) * t_op;
        if needed <= dt_s {
            self.progress = 0.0;
            self.closed = false;
            self.cause = TripCause::Overcurrent;
            self.operations = self.operations.saturating_add(1);
            Some(needed.max(0.0))
        } else {
            self.progress += dt_s / t_op;
            None
        }
    }
}

/// A single-bus element, by kind and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementRef {
    /// A load.
    Load(usize),
    /// A PV array.
    Pv(usize),
    /// A diesel generator.
    Diesel(usize),
    /// A battery.
    Battery(usize),
    /// A hub.
    Hub(usize),
    /// A DER.
    Der(usize),
}
