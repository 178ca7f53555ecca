/* Modbus/SunSpec from C: a device's register map built from models (common 1, meter 203, volt-var 705 with
 * one curve of four points), discovered by the scanner through Modbus TCP frames answered from that map, its
 * points read with their scale factors, a curve point written back as a register block, and the answers a
 * device can give (an exception) read as values. */
#include "check.h"

#define BASE 40000
static uint16_t map[1024]; /* the simulated device's registers from BASE */
static size_t map_len;

static IdeaSunspecModel *place(IdeaSunspecModel *model) {
    size_t len = 0;
    CHECK_OK(idea_sunspec_model_registers(model, map + map_len, sizeof map / sizeof map[0] - map_len, &len));
    map_len += len;
    return model;
}

static void build_device(const IdeaSunspecCatalog *catalog) {
    map[0] = 0x5375; /* "SunS" */
    map[1] = 0x6e53;
    map_len = 2;
    IdeaSunspecModel *common = NULL, *meter = NULL, *volt_var = NULL;
    CHECK_OK(idea_sunspec_model_new(catalog, 1, (uint16_t)(BASE + map_len), NULL, NULL, 0, &common));
    CHECK_OK(idea_sunspec_model_put_text(common, "Mn", "IDEA", false));
    CHECK_OK(idea_sunspec_model_put_text(common, "Md", "meter-3ph", false));
    place(common);
    CHECK_OK(idea_sunspec_model_new(catalog, 203, (uint16_t)(BASE + map_len), NULL, NULL, 0, &meter));
    CHECK_OK(idea_sunspec_model_put_number(meter, "W_SF", -1));
    CHECK_OK(idea_sunspec_model_put_number(meter, "W", -2345.6)); /* exporting, 0.1 W resolution */
    CHECK_OK(idea_sunspec_model_put_number(meter, "Hz_SF", -2));
    CHECK_OK(idea_sunspec_model_put_number(meter, "Hz", 50.01));
    place(meter);
    const char *names[] = {"NCrv", "NPt"};
    const uint16_t counts[] = {1, 4};
    CHECK_OK(idea_sunspec_model_new(catalog, 705, (uint16_t)(BASE + map_len), names, counts, 2, &volt_var));
    CHECK_OK(idea_sunspec_model_put_number(volt_var, "V_SF", -1));
    CHECK_OK(idea_sunspec_model_put_number(volt_var, "Crv[0].Pt[3].V", 253.0));
    place(volt_var);
    map[map_len++] = 0xffff; /* end marker */
    map[map_len++] = 0;

    /* A model for which the catalog has no definition is refused at creation. */
    IdeaSunspecModel *none = NULL;
    CHECK_FAILS(idea_sunspec_model_new(catalog, 60000, 0, NULL, NULL, 0, &none), IDEA_RESULT_SUNSPEC_MODEL);
    CHECK_FAILS(idea_sunspec_model_put_number(meter, "NoSuchPoint", 1), IDEA_RESULT_MODBUS_INVALID);
    CHECK_LAST_ERROR_HAS("NoSuchPoint");
    CHECK_OK(idea_sunspec_model_free(&common));
    CHECK_OK(idea_sunspec_model_free(&meter));
    CHECK_OK(idea_sunspec_model_free(&volt_var));
}

/* The simulated device answers one Modbus TCP request from the map. */
static size_t device_answer(const uint8_t *request, size_t len, uint8_t *answer) {
    CHECK(len == 12 && request[7] == 3);
    uint16_t address = (uint16_t)(request[8] << 8 | request[9]);
    uint16_t count = (uint16_t)(request[10] << 8 | request[11]);
    memcpy(answer, request, 4);
    answer[6] = request[6];
    if (address < BASE || address + count > BASE + map_len) {
        answer[4] = 0, answer[5] = 3, answer[7] = 0x83, answer[8] = 2; /* illegal data address */
        return 9;
    }
    answer[4] = (uint8_t)((3 + 2 * count) >> 8), answer[5] = (uint8_t)(3 + 2 * count);
    answer[7] = 3, answer[8] = (uint8_t)(2 * count);
    for (uint16_t i = 0; i < count; i++) {
        answer[9 + 2 * i] = (uint8_t)(map[address - BASE + i] >> 8);
        answer[10 + 2 * i] = (uint8_t)map[address - BASE + i];
    }
    return 9 + 2u * count;
}

static IdeaSunspecDevice *scan(const IdeaSunspecCatalog *catalog) {
    IdeaSunspecScanner *scanner = NULL;
    CHECK_OK(idea_sunspec_scanner_new(catalog, &scanner));
    uint16_t transaction = 0;
    int reads = 0;
    for (;;) {
        bool has = false;
        uint16_t address = 0, count = 0;
        CHECK_OK(idea_sunspec_scanner_poll_read(scanner, &has, &address, &count));
        if (!has) break;
        uint8_t request[IDEA_MODBUS_TCP_MAX_FRAME], answer[IDEA_MODBUS_TCP_MAX_FRAME];
        size_t len = 0, used = 0, needed = 0;
        CHECK_OK(idea_modbus_tcp_read_request(++transaction, 1, false, address, count, request, sizeof request, &len));
        size_t answer_len = device_answer(request, len, answer);
        CHECK_OK(idea_modbus_tcp_frame_length(answer, answer_len, &needed));
        CHECK(needed == answer_len);
        IdeaModbusResponse r;
        uint16_t registers[IDEA_MODBUS_MAX_READ];
        CHECK_OK(idea_modbus_tcp_response_decode(answer, answer_len, &r, registers, IDEA_MODBUS_MAX_READ, &used));
        CHECK(used == answer_len && r.transaction == transaction && r.function == 3);
        if (r.exception != 0) {
            CHECK_OK(idea_sunspec_scanner_handle_failure(scanner, r.exception));
        } else {
            CHECK(r.count == count);
            CHECK_OK(idea_sunspec_scanner_handle_registers(scanner, registers, r.count));
        }
        reads++;
    }
    CHECK(reads >= 4);
    IdeaSunspecDevice *device = NULL;
    CHECK_OK(idea_sunspec_scanner_finish(scanner, &device));
    bool has;
    uint16_t a, c;
    CHECK_FAILS(idea_sunspec_scanner_poll_read(scanner, &has, &a, &c), IDEA_RESULT_WRONG_STATE);
    CHECK_OK(idea_sunspec_scanner_free(&scanner));
    return device;
}

static void read_points(const IdeaSunspecDevice *device) {
    uint16_t base = 0;
    size_t models = 0;
    CHECK_OK(idea_sunspec_device_info(device, &base, &models));
    CHECK(base == BASE && models == 3);
    IdeaSunspecModel *common = NULL, *meter = NULL;
    CHECK_OK(idea_sunspec_device_model_at(device, 0, &common));
    char text[64];
    size_t len = 0;
    CHECK_OK(idea_sunspec_model_get_text(common, "Mn", text, sizeof text, &len));
    CHECK(strcmp(text, "IDEA") == 0);
    CHECK_FAILS(idea_sunspec_model_get_text(common, "SN", text, sizeof text, &len), IDEA_RESULT_NOT_FOUND);

    CHECK_OK(idea_sunspec_device_find(device, 203, &meter));
    IdeaSunspecModelInfo info;
    CHECK_OK(idea_sunspec_model_info(meter, &info));
    CHECK(info.id == 203 && info.known && !info.has_problem && info.length == 105);
    double w = 0, hz = 0;
    bool present = false;
    CHECK_OK(idea_sunspec_model_get_number(meter, "W", &w, &present));
    CHECK(present && w > -2345.61 && w < -2345.59);
    CHECK_OK(idea_sunspec_model_get_number(meter, "Hz", &hz, &present));
    CHECK(present && hz > 50.0099 && hz < 50.0101);
    /* Not implemented by this meter: absent, not a number. */
    CHECK_OK(idea_sunspec_model_get_number(meter, "VAR", &w, &present));
    CHECK(!present && w == 0);
    /* A read-only point cannot be set for writing. */
    CHECK_FAILS(idea_sunspec_model_set_number(meter, "W", 1), IDEA_RESULT_MODBUS_INVALID);
    CHECK_LAST_ERROR_HAS("W is read-only");
    IdeaSunspecModel *absent = NULL;
    CHECK_FAILS(idea_sunspec_device_find(device, 701, &absent), IDEA_RESULT_NOT_FOUND);
    CHECK_OK(idea_sunspec_model_free(&common));
    CHECK_OK(idea_sunspec_model_free(&meter));
}

static void write_a_curve_point(const IdeaSunspecDevice *device) {
    IdeaSunspecModel *vv = NULL;
    CHECK_OK(idea_sunspec_device_find(device, 705, &vv));
    double v = 0;
    bool present = false;
    CHECK_OK(idea_sunspec_model_get_number(vv, "Crv[0].Pt[3].V", &v, &present));
    CHECK(present && v == 253.0);
    uint16_t address = 0, values[IDEA_SUNSPEC_MAX_WRITE];
    size_t count = 99;
    CHECK_OK(idea_sunspec_model_take_write(vv, &address, values, IDEA_SUNSPEC_MAX_WRITE, &count));
    CHECK(count == 0); /* nothing owed yet */
    CHECK_OK(idea_sunspec_model_set_number(vv, "Crv[0].Pt[3].V", 248.5));
    CHECK_OK(idea_sunspec_model_take_write(vv, &address, values, IDEA_SUNSPEC_MAX_WRITE, &count));
    CHECK(count >= 1 && address > BASE);
    int found = 0;
    for (size_t i = 0; i < count; i++) found |= values[i] == 2485;
    CHECK(found);
    /* As a Modbus TCP write, and the device's echo read back. */
    uint8_t wire[IDEA_MODBUS_TCP_MAX_FRAME];
    size_t len = 0, used = 0;
    CHECK_OK(idea_modbus_tcp_write_request(9, 1, address, values, count, wire, sizeof wire, &len));
    CHECK(len == 13 + 2 * count && wire[7] == 0x10);
    uint8_t echo[] = {0, 9, 0, 0, 0, 6, 1, 0x10, (uint8_t)(address >> 8), (uint8_t)address, 0, (uint8_t)count};
    IdeaModbusResponse r;
    CHECK_OK(idea_modbus_tcp_response_decode(echo, sizeof echo, &r, NULL, 0, &used));
    CHECK(r.function == 0x10 && r.address == address && r.count == count && r.exception == 0);
    CHECK_OK(idea_sunspec_model_take_write(vv, &address, values, IDEA_SUNSPEC_MAX_WRITE, &count));
    CHECK(count == 0);
    CHECK_OK(idea_sunspec_model_free(&vv));
}

static void frames_and_failures(const IdeaSunspecCatalog *catalog) {
    uint8_t wire[IDEA_MODBUS_TCP_MAX_FRAME];
    size_t len = 0, used = 0, needed = 0;
    CHECK_FAILS(idea_modbus_tcp_read_request(1, 1, false, 40000, 126, wire, sizeof wire, &len),
                IDEA_RESULT_MODBUS_INVALID);
    CHECK_OK(idea_modbus_tcp_read_request(1, 1, true, 30000, 2, wire, sizeof wire, &len));
    CHECK(len == 12 && wire[7] == 4);
    /* An exception answer is a value. */
    uint8_t exception[] = {0, 1, 0, 0, 0, 3, 1, 0x83, 0x02};
    IdeaModbusResponse r;
    uint16_t regs[4];
    CHECK_OK(idea_modbus_tcp_response_decode(exception, sizeof exception, &r, regs, 4, &used));
    CHECK(r.exception == 2 && r.function == 3 && r.count == 0);
    /* Incomplete, and a protocol id other than Modbus's. */
    CHECK_FAILS(idea_modbus_tcp_response_decode(exception, 8, &r, regs, 4, &used), IDEA_RESULT_MODBUS_INCOMPLETE);
    CHECK_OK(idea_modbus_tcp_frame_length(exception, 3, &needed));
    CHECK(needed == 7);
    uint8_t other_protocol[] = {0, 1, 0, 7, 0, 3, 1, 0x83, 0x02};
    CHECK_FAILS(idea_modbus_tcp_frame_length(other_protocol, sizeof other_protocol, &needed), IDEA_RESULT_MODBUS_DECODE);
    CHECK_LAST_ERROR_HAS("protocol id");
    /* Two registers answered where the array holds one: the count is told, nothing is overrun. */
    uint8_t two[] = {0, 1, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2};
    CHECK_FAILS(idea_modbus_tcp_response_decode(two, sizeof two, &r, regs, 1, &used), IDEA_RESULT_BUFFER_TOO_SMALL);
    CHECK(r.count == 2);

    /* A device without SunS anywhere: the scan says which addresses it tried. */
    IdeaSunspecScanner *scanner = NULL;
    IdeaSunspecDevice *device = NULL;
    CHECK_OK(idea_sunspec_scanner_new(catalog, &scanner));
    for (;;) {
        bool has;
        uint16_t a, c;
        CHECK_OK(idea_sunspec_scanner_poll_read(scanner, &has, &a, &c));
        if (!has) break;
        CHECK_OK(idea_sunspec_scanner_handle_failure(scanner, 2));
    }
    CHECK_FAILS(idea_sunspec_scanner_finish(scanner, &device), IDEA_RESULT_MODBUS_INVALID);
    CHECK_LAST_ERROR_HAS("no SunSpec map found");
    CHECK(device == NULL);
    CHECK_OK(idea_sunspec_scanner_free(&scanner));

    /* Registers that do not fit their model: kept, with the problem told. */
    uint16_t short_meter[] = {203, 105, 1, 2};
    IdeaSunspecModel *broken = NULL;
    CHECK_OK(idea_sunspec_model_from_registers(catalog, 40002, short_meter, 4, &broken));
    IdeaSunspecModelInfo info;
    CHECK_OK(idea_sunspec_model_info(broken, &info));
    CHECK(info.has_problem);
    char problem[256];
    CHECK_OK(idea_sunspec_model_problem(broken, problem, sizeof problem, &len));
    CHECK(len > 0);
    CHECK_OK(idea_sunspec_model_free(&broken));
}

int main(int argc, char **argv) {
    IdeaSunspecCatalog *catalog = NULL;
    CHECK_OK(idea_sunspec_catalog_builtin(&catalog));
    if (argc > 1) { /* the official models directory: every definition loads */
        size_t loaded = 0;
        CHECK_OK(idea_sunspec_catalog_load_dir(catalog, argv[1], &loaded));
        CHECK(loaded > 50);
    }
    build_device(catalog);
    IdeaSunspecDevice *device = scan(catalog);
    read_points(device);
    write_a_curve_point(device);
    frames_and_failures(catalog);
    CHECK_OK(idea_sunspec_device_free(&device));
    CHECK_OK(idea_sunspec_catalog_free(&catalog));
    puts("sunspec: ok");
    return 0;
}
