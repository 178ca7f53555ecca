/* Neural Grid functions from C: the IEEE 1547-2018 default characteristics (Category B volt-var of Table 8)
 * and frequency droop at 50 Hz, custom curves, and the power flow of the IEEE 33-bus feeder (the case file is
 * the argument) by sweep and by Newton-Raphson against the published 202.67 kW of losses and 0.9131 p.u. at bus
 * 18; malformed and unsolvable cases refused with their own codes. */
#include "check.h"

#include <math.h>

static int near(double a, double b, double tolerance) { return fabs(a - b) <= tolerance; }

static void characteristics(void) {
    double q = 0;
    CHECK_OK(idea_ng_characteristic_eval(IDEA_NG_CHARACTERISTIC_VOLT_VAR, IDEA_NG_CATEGORY_B, 0.92, &q));
    CHECK(near(q, 0.44, 1e-12));
    CHECK_OK(idea_ng_characteristic_eval(IDEA_NG_CHARACTERISTIC_VOLT_VAR, IDEA_NG_CATEGORY_B, 1.00, &q));
    CHECK(near(q, 0.0, 1e-12));
    CHECK_OK(idea_ng_characteristic_eval(IDEA_NG_CHARACTERISTIC_VOLT_VAR, IDEA_NG_CATEGORY_B, 1.05, &q));
    CHECK(near(q, -0.22, 1e-12));
    CHECK_OK(idea_ng_characteristic_eval(IDEA_NG_CHARACTERISTIC_VOLT_VAR, IDEA_NG_CATEGORY_B, 1.30, &q));
    CHECK(near(q, -0.44, 1e-12)); /* flat beyond the last point */
    CHECK_FAILS(idea_ng_characteristic_eval(7, IDEA_NG_CATEGORY_B, 1.0, &q), IDEA_RESULT_INVALID_ARGUMENT);
    CHECK_FAILS(idea_ng_characteristic_eval(IDEA_NG_CHARACTERISTIC_VOLT_VAR, 5, 1.0, &q), IDEA_RESULT_INVALID_ARGUMENT);
    CHECK_FAILS(idea_ng_characteristic_eval(IDEA_NG_CHARACTERISTIC_VOLT_VAR, IDEA_NG_CATEGORY_B, NAN, &q),
                IDEA_RESULT_INVALID_ARGUMENT);

    /* The table as points: four, with the 5 s default response time of Category B volt-var. */
    IdeaNgPoint points[8];
    size_t count = 0;
    double response = 0;
    CHECK_FAILS(idea_ng_characteristic_points(IDEA_NG_CHARACTERISTIC_VOLT_VAR, IDEA_NG_CATEGORY_B, points, 2, &count,
                                              &response),
                IDEA_RESULT_BUFFER_TOO_SMALL);
    CHECK(count == 4);
    CHECK_OK(idea_ng_characteristic_points(IDEA_NG_CHARACTERISTIC_VOLT_VAR, IDEA_NG_CATEGORY_B, points, 8, &count,
                                           &response));
    CHECK(count == 4 && near(points[0].x, 0.92, 1e-12) && near(points[0].y, 0.44, 1e-12) && near(response, 5.0, 1e-12));
    /* Volt-watt limits active power above 1.06 p.u. */
    double p = 0;
    CHECK_OK(idea_ng_characteristic_eval(IDEA_NG_CHARACTERISTIC_VOLT_WATT, IDEA_NG_CATEGORY_B, 1.00, &p));
    CHECK(near(p, 1.0, 1e-12));
    CHECK_OK(idea_ng_characteristic_eval(IDEA_NG_CHARACTERISTIC_VOLT_WATT, IDEA_NG_CATEGORY_B, 1.10, &p));
    CHECK(p < 0.5);

    /* A custom curve; one whose x decreases is refused. */
    IdeaNgPoint custom[3] = {{0.9, 0.3}, {1.0, 0.0}, {1.1, -0.3}};
    CHECK_OK(idea_ng_curve_eval(custom, 3, 1.05, &q));
    CHECK(near(q, -0.15, 1e-12));
    IdeaNgPoint backwards[2] = {{1.1, 0.0}, {0.9, 0.3}};
    CHECK_FAILS(idea_ng_curve_eval(backwards, 2, 1.0, &q), IDEA_RESULT_INVALID_ARGUMENT);
    CHECK_FAILS(idea_ng_curve_eval(custom, 0, 1.0, &q), IDEA_RESULT_INVALID_ARGUMENT);
}

static void droop(void) {
    IdeaNgDroop d;
    CHECK_OK(idea_ng_droop_defaults(&d));
    CHECK(near(d.deadband_hz, 0.036, 1e-12) && near(d.droop, 0.05, 1e-12));
    /* At 50 Hz the 0.036 Hz deadband scales to 0.030 Hz: 50.25 Hz lowers 0.8 p.u. by 0.22 / 2.5. */
    double p = 0;
    CHECK_OK(idea_ng_frequency_droop(NULL, 50.25, 50.0, 0.8, 1.0, 0.0, &p));
    CHECK(near(p, 0.8 - 0.22 / 2.5, 1e-12));
    CHECK_OK(idea_ng_frequency_droop(NULL, 50.02, 50.0, 0.8, 1.0, 0.0, &p));
    CHECK(near(p, 0.8, 1e-12)); /* inside the deadband */
    CHECK_OK(idea_ng_frequency_droop(NULL, 49.0, 50.0, 0.8, 1.0, 0.0, &p));
    CHECK(near(p, 1.0, 1e-12)); /* up to what is available */
    IdeaNgDroop steep = d;
    steep.droop = 0.02;
    CHECK_OK(idea_ng_frequency_droop(&steep, 50.25, 50.0, 0.8, 1.0, 0.0, &p));
    CHECK(near(p, 0.8 - 0.22 / 1.0, 1e-12));
    steep.droop = 0;
    CHECK_FAILS(idea_ng_frequency_droop(&steep, 50.25, 50.0, 0.8, 1.0, 0.0, &p), IDEA_RESULT_INVALID_ARGUMENT);
    CHECK_FAILS(idea_ng_frequency_droop(NULL, 50.25, 50.0, 0.8, 0.1, 0.5, &p), IDEA_RESULT_INVALID_ARGUMENT);
}

static char *read_text(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long size = ftell(f);
    CHECK(size > 0 && fseek(f, 0, SEEK_SET) == 0);
    char *text = malloc((size_t)size);
    CHECK(text != NULL && fread(text, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return text;
}

static void ieee_33_bus(const char *path) {
    size_t len = 0;
    char *text = read_text(path, &len);
    static const uint32_t methods[] = {IDEA_NG_METHOD_SWEEP, IDEA_NG_METHOD_NEWTON_RAPHSON, IDEA_NG_METHOD_AUTO};
    for (size_t m = 0; m < 3; m++) {
        IdeaNgPowerFlow *pf = NULL;
        CHECK_OK(idea_ng_powerflow_solve((const uint8_t *)text, len, methods[m], &pf));
        IdeaNgPowerFlowSummary s;
        CHECK_OK(idea_ng_powerflow_summary(pf, &s));
        CHECK(s.method == (methods[m] == IDEA_NG_METHOD_AUTO ? (uint32_t)IDEA_NG_METHOD_SWEEP : methods[m]));
        CHECK(s.bus_count == 33 && s.branch_count == 37 && s.iterations > 0);
        CHECK(near(s.losses_mw * 1000.0, 202.677, 0.01));
        CHECK(s.min_voltage_bus == 18 && near(s.min_voltage_pu, 0.91309, 1e-5));
        IdeaNgBus bus;
        CHECK_OK(idea_ng_powerflow_bus(pf, 0, &bus));
        CHECK(bus.bus == 1 && near(bus.vm_pu, 1.0, 1e-9));
        CHECK_FAILS(idea_ng_powerflow_bus(pf, 33, &bus), IDEA_RESULT_INVALID_ARGUMENT);
        /* The slack supplies the load plus the losses; the five tie switches stay open. */
        double load = 0;
        int open = 0;
        for (size_t i = 0; i < s.branch_count; i++) {
            IdeaNgBranch b;
            CHECK_OK(idea_ng_powerflow_branch(pf, i, &b));
            if (!b.in_service) open++;
            else load += b.p_from_mw + b.p_to_mw; /* the loss in each branch */
        }
        CHECK(open == 5);
        CHECK(near(load, s.losses_mw, 1e-6));
        CHECK_OK(idea_ng_powerflow_free(&pf));
        CHECK_OK(idea_ng_powerflow_free(&pf));
    }
    free(text);
}

static void refused_cases(void) {
    IdeaNgPowerFlow *pf = NULL;
    static const char broken[] = "function mpc = broken\nmpc.baseMVA = 100;\nmpc.bus = [\n1 3 0 0 0 0 1 1 0 12.66 1 1.1\n";
    CHECK_FAILS(idea_ng_powerflow_solve((const uint8_t *)broken, strlen(broken), IDEA_NG_METHOD_AUTO, &pf),
                IDEA_RESULT_NG_CASE_SYNTAX);
    CHECK_LAST_ERROR_HAS("case file line");
    CHECK(pf == NULL);
    static const char no_slack[] =
        "function mpc = no_slack\nmpc.version = '2';\nmpc.baseMVA = 100;\n"
        "mpc.bus = [\n1 1 0 0 0 0 1 1 0 12.66 1 1.1 0.9;\n2 1 1 0 0 0 1 1 0 12.66 1 1.1 0.9;\n];\n"
        "mpc.gen = [\n];\n"
        "mpc.branch = [\n1 2 0.01 0.01 0 0 0 0 0 0 1 -360 360;\n];\n";
    CHECK_FAILS(idea_ng_powerflow_solve((const uint8_t *)no_slack, strlen(no_slack), IDEA_NG_METHOD_AUTO, &pf),
                IDEA_RESULT_NG_CASE_DATA);
    CHECK_LAST_ERROR_HAS("no reference");
    static const uint8_t not_utf8[] = {0x66, 0xff, 0x0a};
    CHECK_FAILS(idea_ng_powerflow_solve(not_utf8, sizeof not_utf8, IDEA_NG_METHOD_AUTO, &pf), IDEA_RESULT_INVALID_UTF8);
    CHECK_FAILS(idea_ng_powerflow_solve((const uint8_t *)no_slack, strlen(no_slack), 9, &pf), IDEA_RESULT_INVALID_ARGUMENT);
}

int main(int argc, char **argv) {
    CHECK(argc == 2); /* ng-control/data/cases/case33bw.m */
    characteristics();
    droop();
    ieee_33_bus(argv[1]);
    refused_cases();
    puts("ng: ok");
    return 0;
}
