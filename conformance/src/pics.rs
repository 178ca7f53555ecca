//! PICS (Protocol Implementation Conformance Statement): the vendor's declaration of what the device implements,
//! as TOML. It selects test cases; a missing PICS is an error, never "test nothing"; an item not declared is not
//! assumed false (the cases that need it run and say so). Templates with comments are data
//! (`data/pics/*.toml`), printed by `idea conform SUITE --pics-template`.

use crate::Error;
use serde::{Deserialize, Serialize};

/// A vendor's declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pics {
    /// The device.
    pub device: DevicePics,
    /// Its IEC 60870-5-104 implementation, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iec104: Option<Iec104Pics>,
    /// Its Modbus/SunSpec implementation, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modbus: Option<ModbusPics>,
}

/// A Modbus TCP device with a SunSpec map.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusPics {
    /// The unit id it answers.
    pub unit: Option<u8>,
    /// How long the runner waits for an answer, seconds.
    pub timeout_s: Option<f64>,
    /// Where its SunSpec map starts (`SunS`): 40000, 0 or 50000.
    pub base: Option<u16>,
    /// The SunSpec models it implements, in map order.
    pub models: Option<Vec<u16>>,
    /// A writable point the runner may write and read back.
    pub write_point: Option<WritePoint>,
    /// A setpoint with a reversion timer.
    pub reversion: Option<ReversionPics>,
    /// A value outside a writable point's limits, which the device must refuse.
    pub rejected_write: Option<WritePoint>,
    /// A setpoint the device's own measurement follows (the IDEA device profiles).
    pub follow: Option<FollowPics>,
    /// A volt-var curve (SunSpec 705) the runner writes, adopts and checks the reactive power against.
    pub volt_var: Option<VoltVarPics>,
    /// A frequency-droop control (SunSpec 711) the runner writes and adopts.
    pub freq_droop: Option<FreqDroopPics>,
    /// `modbus-device`: the holding registers it serves, first and last address (inclusive).
    pub holding_registers: Option<[u16; 2]>,
    /// `modbus-device`: the input registers it serves, first and last address.
    pub input_registers: Option<[u16; 2]>,
    /// `modbus-device`: the coils it serves, first and last address.
    pub coils: Option<[u16; 2]>,
    /// `modbus-device`: the discrete inputs it serves, first and last address.
    pub discrete_inputs: Option<[u16; 2]>,
    /// `modbus-device`: a holding register the runner may write (and writes back as it was).
    pub write_register: Option<RegisterValue>,
    /// `modbus-device`: whether it answers Read Device Identification (function 43/14).
    pub device_identification: Option<bool>,
    /// `modbus-device`: the function codes it implements (1–6, 15, 16, 23, 43, …).
    pub functions: Option<Vec<u8>>,
}

/// A volt-var curve to adopt (SunSpec model 705).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoltVarPics {
    /// The curve's index (from 1; 1 is the active curve, so 2 or more) to write and adopt.
    pub curve: u16,
    /// What its reactive power is a percentage of (SunSpec `DeptRef`): 1 `WMax`, 2 `VarMaxInj`.
    pub dept_ref: u16,
    /// Its points: voltage in % of nominal, reactive power in % of the `dept_ref` quantity, voltages rising.
    pub points: Vec<(f64, f64)>,
    /// How long adoption and the response may take, seconds.
    pub within_s: f64,
}

/// A frequency-droop control to adopt (SunSpec model 711, IEEE 1547-2018 clause 6.5.2.7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreqDroopPics {
    /// The control's index (from 1; 1 is the active control, so 2 or more) to write and adopt.
    pub control: u16,
    /// Over- and under-frequency deadbands, Hz (`DbOf`, `DbUf`).
    pub deadband_hz: [f64; 2],
    /// Over- and under-frequency droops, per unit (`KOf`, `KUf`).
    pub droop: [f64; 2],
    /// Open-loop response time, seconds (`RspTms`).
    pub response_s: f64,
    /// How long an adoption may take, seconds.
    pub within_s: f64,
}

/// A holding register and a value it may take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterValue {
    /// The register's address.
    pub address: u16,
    /// A raw 16-bit value the register may take.
    pub value: u16,
}

/// A setpoint and the measurement that follows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowPics {
    /// The model id (64901).
    pub model: u16,
    /// The setpoint's path (`WSet`).
    pub setpoint: String,
    /// The measurement's path (`W`).
    pub measurement: String,
    /// A value to command, in engineering units (within the device's limits).
    pub value: f64,
    /// Where the setpoint rests afterwards.
    pub rest: f64,
    /// How long the measurement may take to reach the value (within 5 %), seconds.
    pub within_s: f64,
}

/// A setpoint that returns to its default when no write renews it within its timer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReversionPics {
    /// The model id (704).
    pub model: u16,
    /// The setpoint's path (`WSet`).
    pub setpoint: String,
    /// A value to write, in engineering units.
    pub value: f64,
    /// The timer's path (`WSetRvrtTms`), seconds.
    pub timeout_point: String,
    /// The timer to write, seconds (short: the case waits it out).
    pub timeout_s: f64,
    /// What the setpoint reads once reverted.
    pub default: f64,
}

/// A writable SunSpec point and a value it may take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WritePoint {
    /// The model id.
    pub model: u16,
    /// The point's path (`WMaxLimPct`, `Crv[0].Pt[1].V`).
    pub point: String,
    /// The value to write, in engineering units (its scale factor applied).
    pub value: f64,
}

/// Who made the device and what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicePics {
    /// The vendor.
    pub vendor: String,
    /// The model.
    pub model: String,
    /// Firmware or software version.
    pub version: String,
    /// The power-cell type it serves (`prosumer`, `active-consumer`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_type: Option<String>,
    /// The interface device it is (Table 3: `energy-router`, `energy-hub`, `meter`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_device: Option<String>,
}

/// An IEC 60870-5-104 controlled or controlling station.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Iec104Pics {
    /// Common address of the ASDU the station answers.
    pub common_address: Option<u16>,
    /// Octets of the cause of transmission (IEC 104: 2).
    pub cot_size: Option<u8>,
    /// Octets of the common address (IEC 104: 2).
    pub ca_size: Option<u8>,
    /// Octets of the information object address (IEC 104: 3).
    pub ioa_size: Option<u8>,
    /// Most unacknowledged I frames the station sends.
    pub k: Option<u16>,
    /// The station acknowledges at the latest after this many I frames.
    pub w: Option<u16>,
    /// t1, seconds.
    pub t1_s: Option<f64>,
    /// t2, seconds.
    pub t2_s: Option<f64>,
    /// t3, seconds.
    pub t3_s: Option<f64>,
    /// Monitor-direction types it sends (`M_ME_NC_1`, …).
    pub monitor_types: Option<Vec<String>>,
    /// Command types it accepts (`C_SC_NA_1`, `C_SE_NC_1`, …).
    pub command_types: Option<Vec<String>>,
    /// Whether it answers a station interrogation (QOI 20).
    pub station_interrogation: Option<bool>,
    /// The interrogation groups (1–16) it answers.
    pub groups: Option<Vec<u8>>,
    /// Whether it answers a counter interrogation.
    pub counter_interrogation: Option<bool>,
    /// Whether it accepts clock synchronisation (`C_CS_NA_1`).
    pub clock_synchronisation: Option<bool>,
    /// Whether its set-point (`setpoint_point`) must be selected before it is executed.
    pub select_before_operate: Option<bool>,
    /// The IOA of a single command (`C_SC_NA_1`) that must be selected before it is executed (a switch);
    /// the select-before-operate cases command it ON.
    pub select_point: Option<u32>,
    /// How long a selection stays valid, seconds.
    pub select_timeout_s: Option<f64>,
    /// The IOA of a measured value a station interrogation reports.
    pub measured_point: Option<u32>,
    /// The IOA of a short-float set-point command (`C_SE_NC_1`) it accepts.
    pub setpoint_point: Option<u32>,
    /// A value the set-point may be commanded to (within the device's limits).
    pub setpoint_value: Option<f32>,
    /// Whether it implements the IDEA energy-router profile (NG-R1..R6, the map of `iec104`'s
    /// `data/energy-router.toml`).
    pub energy_router_profile: Option<bool>,
    /// Energy router: the microgrid port the profile cases limit (1 by default).
    pub router_port: Option<u32>,
    /// Energy router: the port limit the cases command, kW (1 by default).
    pub router_limit_kw: Option<f32>,
    /// Energy router: the port limit restored after the cases, kW (its rating).
    pub router_rating_kw: Option<f32>,
    /// Energy router: two microgrid ports that follow their active-power setpoints (`p_setpoint_kw`), as
    /// `[source, sink]`; the NG-R2 and NG-R4 cases make a flow between them. Undeclared, those cases do not
    /// apply (a port that forms its microgrid carries what the microgrid needs, not a setpoint).
    pub router_following_ports: Option<Vec<u32>>,
    /// Energy router: the flow those cases command out of the source port, kW (4 by default; the sink takes
    /// half of it).
    pub router_flow_kw: Option<f32>,
    /// A controlling station: how long it takes to connect, and to connect again after the connection is
    /// lost, seconds (the runner listens this long).
    pub connect_within_s: Option<f64>,
    /// A controlling station: whether it connects again after the connection is lost.
    pub reconnects: Option<bool>,
    /// A controlling station: whether it interrogates the station (QOI 20) once data transfer starts.
    pub sends_station_interrogation: Option<bool>,
    /// A controlling station: whether it synchronises the station's clock once data transfer starts.
    pub sends_clock_synchronisation: Option<bool>,
    /// A controlling station: how far its clock may be from the runner's, seconds.
    pub clock_tolerance_s: Option<f64>,
}

impl Pics {
    /// Reads a PICS from TOML; `source` names it in errors.
    pub fn from_toml(source: &str, text: &str) -> Result<Pics, Error> {
        let pics: Pics = toml::from_str(text).map_err(|e| Error::Pics {
            file: source.to_owned(),
            reason: e.to_string(),
        })?;
        pics.check_type_names().map_err(|reason| Error::Pics {
            file: source.to_owned(),
            reason,
        })?;
        Ok(pics)
    }

    /// The IEC 104 type names are the standard's (IEC 60870-5-101 clause 7.2.1: `M_ME_NC_1`, `C_SC_NA_1`, …).
    fn check_type_names(&self) -> Result<(), String> {
        let Some(station) = &self.iec104 else {
            return Ok(());
        };
        for (item, names) in [
            ("monitor_types", &station.monitor_types),
            ("command_types", &station.command_types),
        ] {
            for name in names.iter().flatten() {
                if iec104::type_by_name(name).is_none() {
                    return Err(format!(
                        "iec104.{item}: {name:?} is not a type identification of IEC 60870-5-101/104 \
                         (names such as M_ME_NC_1, C_SC_NA_1)"
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Suite;

    #[test]
    fn every_suite_s_template_is_a_valid_pics() {
        let suite = crate::suites::iec104::Outstation::new();
        let pics = Pics::from_toml("template", suite.pics_template()).unwrap();
        suite.check_pics(&pics).unwrap();
        assert_eq!(pics.iec104.unwrap().setpoint_point, Some(5101));
        let suite = crate::suites::sunspec::SunSpec::new();
        let pics = Pics::from_toml("template", suite.pics_template()).unwrap();
        suite.check_pics(&pics).unwrap();
        assert_eq!(pics.modbus.unwrap().models, Some(vec![1, 203]));
        let suite = crate::suites::modbus_device::modbus_device();
        let pics = Pics::from_toml("template", suite.pics_template()).unwrap();
        suite.check_pics(&pics).unwrap();
        assert_eq!(pics.modbus.unwrap().holding_registers, Some([40000, 40101]));
        let suite = crate::suites::iec104::Controlling::new();
        let pics = Pics::from_toml("template", suite.pics_template()).unwrap();
        suite.check_pics(&pics).unwrap();
        assert_eq!(pics.iec104.unwrap().sends_station_interrogation, Some(true));
    }

    #[test]
    fn an_unknown_type_name_is_refused_by_name() {
        let e = Pics::from_toml(
            "x.toml",
            "[device]\nvendor = \"v\"\nmodel = \"m\"\nversion = \"1\"\n[iec104]\n\
             monitor_types = [\"M_ME_NC_1\", \"M_ME_XX_1\"]\n",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("iec104.monitor_types: \"M_ME_XX_1\""),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_item_is_refused_by_name() {
        let e = Pics::from_toml(
            "x.toml",
            "[device]\nvendor = \"v\"\nmodel = \"m\"\nversion = \"1\"\n[iec104]\nk_window = 3\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("k_window"), "{e}");
    }
}
