/* IEEE 2030.5 from C: the 33 real documents of ../shared/ieee2030-5/samples (the arguments) parsed, written
 * back and parsed again to the same document; a SA Power Networks DERControlList and DefaultDERControl read
 * as a DER client reads them; the DER event scheduler driven with explicit time through an export limit event
 * (received, started, completed responses, the controls in force and the default after); the LFDI of a
 * certificate; malformed documents refused with their own codes. */
#include "check.h"

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long size = ftell(f);
    CHECK(size > 0 && fseek(f, 0, SEEK_SET) == 0);
    uint8_t *data = malloc((size_t)size);
    CHECK(data != NULL && fread(data, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return data;
}

static uint8_t *encoded(const IdeaSep2Resource *r, size_t *len) {
    CHECK_FAILS(idea_sep2_resource_encode(r, NULL, 0, len), IDEA_RESULT_BUFFER_TOO_SMALL);
    uint8_t *xml = malloc(*len);
    CHECK(xml != NULL);
    CHECK_OK(idea_sep2_resource_encode(r, xml, *len, len));
    return xml;
}

static IdeaSep2Resource *parse(const char *xml) {
    IdeaSep2Resource *r = NULL;
    size_t used = 0;
    CHECK_OK(idea_sep2_resource_decode((const uint8_t *)xml, strlen(xml), &r, &used));
    return r;
}

static void samples(int count, char **paths) {
    for (int i = 0; i < count; i++) {
        size_t len = 0, used = 0, again_len = 0, second_len = 0;
        uint8_t *xml = read_file(paths[i], &len);
        IdeaSep2Resource *r = NULL, *back = NULL;
        IdeaResult result = idea_sep2_resource_decode(xml, len, &r, &used);
        if (result != IDEA_RESULT_OK) {
            fprintf(stderr, "%s\n", paths[i]);
            CHECK_OK(result);
        }
        char type[64];
        size_t type_len = 0;
        CHECK_OK(idea_sep2_resource_type(r, type, sizeof type, &type_len));
        CHECK(type_len > 0 && strstr(paths[i], type) != NULL); /* the file is named after its type */
        uint8_t *again = encoded(r, &again_len);
        CHECK_OK(idea_sep2_resource_decode(again, again_len, &back, &used));
        uint8_t *second = encoded(back, &second_len);
        CHECK(second_len == again_len && memcmp(second, again, again_len) == 0);
        free(second);
        free(again);
        CHECK_OK(idea_sep2_resource_free(&back));
        CHECK_OK(idea_sep2_resource_free(&r));
        free(xml);
    }
}

static void sapn_controls(const char *list_path, const char *default_path) {
    size_t len = 0, used = 0, count = 0;
    uint8_t *xml = read_file(list_path, &len);
    IdeaSep2Resource *list = NULL, *control = NULL;
    CHECK_OK(idea_sep2_resource_decode(xml, len, &list, &used));
    CHECK_OK(idea_sep2_list_count(list, &count));
    CHECK(count == 3);
    CHECK_OK(idea_sep2_list_item(list, 0, &control));
    IdeaSep2DerControl first;
    CHECK_OK(idea_sep2_der_control_read(control, &first));
    CHECK(first.current_status == 2 && first.controls.exp_lim_w == 10000.0); /* cancelled, 10 kW */
    CHECK_OK(idea_sep2_resource_free(&control));
    CHECK_OK(idea_sep2_list_item(list, 2, &control));
    IdeaSep2DerControl c;
    CHECK_OK(idea_sep2_der_control_read(control, &c));
    CHECK(c.mrid[0] == 0x8f && c.mrid[15] == 0xd9 && c.creation_time == 1726633064 && c.current_status == 1);
    CHECK(c.response_required == 0x03);
    CHECK(c.start == 1726633063 && c.duration == 600);
    CHECK(c.controls.has_exp_lim_w && c.controls.exp_lim_w == 0.0 && !c.controls.has_max_lim_w); /* no export */
    CHECK(c.controls.modes == 1u << IDEA_SEP2_MODE_EXP_LIM_W);
    CHECK_FAILS(idea_sep2_list_item(list, 3, &control), IDEA_RESULT_INVALID_ARGUMENT);
    IdeaSep2DerControl not_one;
    CHECK_FAILS(idea_sep2_der_control_read(list, &not_one), IDEA_RESULT_WRONG_STATE);
    CHECK_OK(idea_sep2_resource_free(&control));
    CHECK_OK(idea_sep2_resource_free(&list));
    free(xml);

    xml = read_file(default_path, &len);
    IdeaSep2Resource *dflt = NULL;
    CHECK_OK(idea_sep2_resource_decode(xml, len, &dflt, &used));
    IdeaSep2Controls d;
    CHECK_OK(idea_sep2_controls_read(dflt, &d));
    CHECK(d.has_exp_lim_w && d.exp_lim_w == 1500.0);
    CHECK_FAILS(idea_sep2_list_count(dflt, &count), IDEA_RESULT_WRONG_STATE);
    CHECK_OK(idea_sep2_resource_free(&dflt));
    free(xml);
}

static const char PROGRAM[] =
    "<DERProgram xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/derp/1\"><mRID>A1000000000000000000000000000001</mRID>"
    "<description>export limits</description><DefaultDERControlLink href=\"/derp/1/dderc\"/>"
    "<DERControlListLink href=\"/derp/1/derc\" all=\"1\"/><primacy>1</primacy></DERProgram>";

/* An export limit of 5 kW from 10 000 s for 600 s, created at 9 000. */
static const char CONTROL[] =
    "<DERControl xmlns=\"urn:ieee:std:2030.5:ns\" xmlns:csipaus=\"https://csipaus.org/ns\" href=\"/derp/1/derc/1\""
    " replyTo=\"/rsps/1/rsp\" responseRequired=\"03\"><mRID>B2000000000000000000000000000002</mRID>"
    "<creationTime>9000</creationTime><EventStatus><currentStatus>0</currentStatus><dateTime>9000</dateTime>"
    "<potentiallySuperseded>false</potentiallySuperseded></EventStatus>"
    "<interval><duration>600</duration><start>10000</start></interval>"
    "<DERControlBase><csipaus:opModExpLimW><multiplier>3</multiplier><value>5</value></csipaus:opModExpLimW>"
    "</DERControlBase></DERControl>";

static const char DEFAULT_CONTROL[] =
    "<DefaultDERControl xmlns=\"urn:ieee:std:2030.5:ns\" xmlns:csipaus=\"https://csipaus.org/ns\">"
    "<mRID>C3000000000000000000000000000003</mRID><DERControlBase><csipaus:opModExpLimW><multiplier>0</multiplier>"
    "<value>1500</value></csipaus:opModExpLimW></DERControlBase></DefaultDERControl>";

static const char TIME[] =
    "<Time xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/tm\"><currentTime>9500</currentTime><dstEndTime>0</dstEndTime>"
    "<dstOffset>0</dstOffset><dstStartTime>0</dstStartTime><quality>7</quality><tzOffset>0</tzOffset></Time>";

/* The next response: its status, and that it goes to the event's replyTo as a DERControlResponse. */
static uint8_t next_response(IdeaSep2Scheduler *s) {
    IdeaSep2Response *r = NULL;
    CHECK_OK(idea_sep2_scheduler_poll_response(s, &r));
    if (r == NULL) return 0;
    IdeaSep2ResponseInfo info;
    CHECK_OK(idea_sep2_response_info(r, &info));
    CHECK(info.has_reply_to && info.subject[0] == 0xb2);
    char to[64];
    size_t len = 0;
    CHECK_OK(idea_sep2_response_reply_to(r, to, sizeof to, &len));
    CHECK(strcmp(to, "/rsps/1/rsp") == 0);
    uint8_t xml[1024];
    CHECK_OK(idea_sep2_response_xml(r, xml, sizeof xml, &len));
    CHECK(len > 0 && memcmp(xml, "<DERControlResponse", 19) == 0);
    /* The response document parses back, with the device's LFDI. */
    IdeaSep2Resource *doc = NULL;
    size_t used = 0;
    CHECK_OK(idea_sep2_resource_decode(xml, len, &doc, &used));
    CHECK_OK(idea_sep2_resource_free(&doc));
    CHECK_OK(idea_sep2_response_free(&r));
    return info.status;
}

static void scheduler(void) {
    uint8_t lfdi[20];
    memset(lfdi, 0x3e, sizeof lfdi);
    IdeaSep2Scheduler *s = NULL;
    CHECK_OK(idea_sep2_scheduler_new(lfdi, 1, &s));
    IdeaSep2Resource *program = parse(PROGRAM), *control = parse(CONTROL), *dflt = parse(DEFAULT_CONTROL);
    IdeaSep2Resource *time = parse(TIME);
    /* The device's clock runs 500 s behind the server's. */
    CHECK_OK(idea_sep2_scheduler_set_time(s, time, 9000));
    const IdeaSep2Resource *controls[1] = {control};
    CHECK_OK(idea_sep2_scheduler_update_program(s, "https://server", program, controls, 1, dflt, 9000));
    CHECK(next_response(s) == 1); /* event received */
    IdeaSep2Controls active;
    CHECK_OK(idea_sep2_scheduler_active(s, &active));
    CHECK(active.has_exp_lim_w && active.exp_lim_w == 1500.0); /* the default until the event starts */

    bool has = false;
    int64_t at = 0;
    CHECK_OK(idea_sep2_scheduler_poll_timeout(s, &has, &at));
    CHECK(has && at == 9500); /* server 10 000 is device 9 500 */
    CHECK_OK(idea_sep2_scheduler_handle_timeout(s, at));
    CHECK(next_response(s) == 2); /* event started */
    CHECK_OK(idea_sep2_scheduler_active(s, &active));
    CHECK(active.has_exp_lim_w && active.exp_lim_w == 5000.0);
    int controls_changed = 0, active_state = 0;
    for (;;) {
        IdeaSep2SchedulerEvent e;
        CHECK_OK(idea_sep2_scheduler_poll_event(s, &e));
        if (e.kind == IDEA_SEP2_EVENT_KIND_NONE) break;
        if (e.kind == IDEA_SEP2_EVENT_KIND_CONTROLS_CHANGED) controls_changed++;
        if (e.kind == IDEA_SEP2_EVENT_KIND_STATE_CHANGED && e.state == IDEA_SEP2_EVENT_STATE_ACTIVE) {
            active_state++;
            CHECK(e.mrid[0] == 0xb2 && e.at == 10000);
        }
    }
    CHECK(controls_changed >= 1 && active_state == 1);

    /* Called late, the end is still reported, at its own time. */
    CHECK_OK(idea_sep2_scheduler_handle_timeout(s, 9500 + 600 + 3600));
    CHECK(next_response(s) == 3); /* event completed */
    CHECK(next_response(s) == 0);
    CHECK_OK(idea_sep2_scheduler_active(s, &active));
    CHECK(active.has_exp_lim_w && active.exp_lim_w == 1500.0);

    /* What is not a program, a control or a default is refused. */
    CHECK_FAILS(idea_sep2_scheduler_update_program(s, "https://server", control, controls, 1, NULL, 9000),
                IDEA_RESULT_INVALID_ARGUMENT);
    const IdeaSep2Resource *wrong[1] = {time};
    CHECK_FAILS(idea_sep2_scheduler_update_program(s, "https://server", program, wrong, 1, NULL, 9000),
                IDEA_RESULT_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("controls[0] is a Time");
    CHECK_FAILS(idea_sep2_scheduler_set_time(s, program, 9000), IDEA_RESULT_INVALID_ARGUMENT);

    CHECK_OK(idea_sep2_resource_free(&program));
    CHECK_OK(idea_sep2_resource_free(&control));
    CHECK_OK(idea_sep2_resource_free(&dflt));
    CHECK_OK(idea_sep2_resource_free(&time));
    CHECK_OK(idea_sep2_scheduler_free(&s));
    CHECK_OK(idea_sep2_scheduler_free(&s));
}

static void identity_and_refusals(void) {
    /* Any DER bytes: the LFDI is the first 20 bytes of their SHA-256 (here of "abc"). */
    static const uint8_t abc[] = {'a', 'b', 'c'};
    static const uint8_t expected[20] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41,
                                         0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3};
    uint8_t lfdi[20];
    uint64_t sfdi = 0;
    CHECK_OK(idea_sep2_lfdi(abc, sizeof abc, lfdi, &sfdi));
    CHECK(memcmp(lfdi, expected, 20) == 0 && sfdi > 0 && sfdi < 1000000000000ULL);
    CHECK_FAILS(idea_sep2_lfdi(abc, 0, lfdi, &sfdi), IDEA_RESULT_INVALID_ARGUMENT);

    IdeaSep2Resource *r = NULL;
    size_t used = 0;
    static const char unclosed[] = "<Time xmlns=\"urn:ieee:std:2030.5:ns\"><currentTime>1</currentTime>";
    CHECK_FAILS(idea_sep2_resource_decode((const uint8_t *)unclosed, strlen(unclosed), &r, &used), IDEA_RESULT_SEP2_XML);
    CHECK_LAST_ERROR_HAS("byte ");
    static const char bad_value[] =
        "<Time xmlns=\"urn:ieee:std:2030.5:ns\"><currentTime>soon</currentTime><dstEndTime>0</dstEndTime>"
        "<dstOffset>0</dstOffset><dstStartTime>0</dstStartTime><quality>7</quality><tzOffset>0</tzOffset></Time>";
    CHECK_FAILS(idea_sep2_resource_decode((const uint8_t *)bad_value, strlen(bad_value), &r, &used),
                IDEA_RESULT_SEP2_VALUE);
    static const char missing[] = "<Time xmlns=\"urn:ieee:std:2030.5:ns\"><quality>7</quality></Time>";
    CHECK_FAILS(idea_sep2_resource_decode((const uint8_t *)missing, strlen(missing), &r, &used),
                IDEA_RESULT_SEP2_STRUCTURE);
    CHECK(r == NULL);
}

int main(int argc, char **argv) {
    CHECK(argc > 20); /* the sample documents, in their numbered order */
    samples(argc - 1, argv + 1);
    const char *list = NULL, *dflt = NULL;
    for (int i = 1; i < argc; i++) {
        if (strstr(argv[i], "18_DERControlList.sapn.xml")) list = argv[i];
        if (strstr(argv[i], "19_DefaultDERControl.sapn.xml")) dflt = argv[i];
    }
    CHECK(list != NULL && dflt != NULL);
    sapn_controls(list, dflt);
    scheduler();
    identity_and_refusals();
    printf("sep2: ok (%d documents)\n", argc - 1);
    return 0;
}
