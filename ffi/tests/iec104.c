/* IEC 60870-5-104 from C: APDUs decoded into struct views and walked object by object, ASDUs built and
 * encoded to the exact octets, and two link layers (controlling and controlled) talking through buffers with
 * explicit time: STARTDT, data both ways, the w acknowledgement, t3 test frames, t1 expiry, frames split
 * across reads, and malformed bytes. */
#include "check.h"

/* M_ME_NC_1, spontaneous, CA 1, IOA 1001 = 50.0 with good quality; N(S) = 0, N(R) = 0. */
static const uint8_t MEASURED[] = {0x68, 0x12, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x01, 0x03, 0x00,
                                   0x01, 0x00, 0xe9, 0x03, 0x00, 0x00, 0x00, 0x48, 0x42, 0x00};

static void decode_a_measured_value(void) {
    IdeaIec104ApduInfo info;
    IdeaIec104Asdu *asdu = NULL;
    size_t used = 0;
    CHECK_OK(idea_iec104_apdu_decode(MEASURED, sizeof MEASURED, NULL, &info, &asdu, &used));
    CHECK(used == sizeof MEASURED);
    CHECK(info.kind == IDEA_IEC104_FRAME_KIND_I && info.ns == 0 && info.nr == 0);
    CHECK(asdu != NULL);

    IdeaIec104AsduHeader h;
    CHECK_OK(idea_iec104_asdu_header(asdu, &h));
    CHECK(h.type_id == 13 && strcmp(idea_iec104_type_name(h.type_id), "M_ME_NC_1") == 0);
    CHECK(!h.sq && h.count == 1 && h.cot.cause == 3 && !h.cot.negative && h.common_address == 1);
    CHECK(h.object_count == 1 && !h.raw);

    for (size_t i = 0; i < h.object_count; i++) {
        uint32_t ioa = 0;
        size_t n = 0;
        CHECK_OK(idea_iec104_asdu_object(asdu, i, &ioa, &n));
        CHECK(ioa == 1001 && n == 2);
        IdeaIec104Element value, quality;
        CHECK_OK(idea_iec104_asdu_element(asdu, i, 0, &value));
        CHECK_OK(idea_iec104_asdu_element(asdu, i, 1, &quality));
        CHECK(value.kind == IDEA_IEC104_ELEMENT_KIND_R32 && quality.kind == IDEA_IEC104_ELEMENT_KIND_QDS);
        double number = 0;
        CHECK_OK(idea_iec104_element_number(&value, &number));
        CHECK(number == 50.0);
        CHECK(quality.value == 0);
    }
    /* Past the end: refused, not read. */
    IdeaIec104Element e;
    uint32_t ioa;
    size_t n;
    CHECK_FAILS(idea_iec104_asdu_object(asdu, 1, &ioa, &n), IDEA_RESULT_INVALID_ARGUMENT);
    CHECK_FAILS(idea_iec104_asdu_element(asdu, 0, 2, &e), IDEA_RESULT_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("element 2 of 2: index out of range");
    CHECK_OK(idea_iec104_asdu_free(&asdu));
    CHECK(asdu == NULL);
}

static void build_and_encode_a_setpoint(void) {
    /* C_SE_NC_1 (50), activation, CA 1, IOA 4001 = -3.5 kW, QOS 0: must encode to exactly these octets. */
    static const uint8_t expected[] = {0x68, 0x12, 0x02, 0x00, 0x04, 0x00, 0x32, 0x01, 0x06, 0x00,
                                       0x01, 0x00, 0xa1, 0x0f, 0x00, 0x00, 0x00, 0x60, 0xc0, 0x00};
    IdeaIec104Cot cot = {6, false, false, 0};
    IdeaIec104Asdu *asdu = NULL;
    CHECK_OK(idea_iec104_asdu_new(50, &cot, 1, &asdu));
    IdeaIec104Element elements[2];
    CHECK_OK(idea_iec104_element_float(-3.5f, &elements[0]));
    memset(&elements[1], 0, sizeof elements[1]);
    elements[1].kind = IDEA_IEC104_ELEMENT_KIND_QOS;
    /* The wrong layout is refused with the reason. */
    CHECK_FAILS(idea_iec104_asdu_push_object(asdu, 4001, elements, 1), IDEA_RESULT_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("type 50 has 2 elements per object, 1 were given");
    IdeaIec104Element swapped[2] = {elements[1], elements[0]};
    CHECK_FAILS(idea_iec104_asdu_push_object(asdu, 4001, swapped, 2), IDEA_RESULT_INVALID_ARGUMENT);
    CHECK_OK(idea_iec104_asdu_push_object(asdu, 4001, elements, 2));

    uint8_t wire[IDEA_IEC104_MAX_APDU];
    size_t len = 0;
    CHECK_OK(idea_iec104_apdu_encode_i(1, 2, asdu, NULL, wire, sizeof wire, &len));
    CHECK(len == sizeof expected && memcmp(wire, expected, len) == 0);
    /* Sequence numbers beyond 15 bits are refused. */
    CHECK_FAILS(idea_iec104_apdu_encode_i(32768, 0, asdu, NULL, wire, sizeof wire, &len),
                IDEA_RESULT_INVALID_ARGUMENT);
    /* A one-octet address field cannot carry IOA 4001. */
    IdeaIec104AsduParams small = {1, 1, 1};
    CHECK_FAILS(idea_iec104_apdu_encode_i(1, 2, asdu, &small, wire, sizeof wire, &len), IDEA_RESULT_IEC104_ENCODE);
    CHECK_OK(idea_iec104_asdu_free(&asdu));

    /* A type this library does not encode is refused at creation. */
    CHECK_FAILS(idea_iec104_asdu_new(127, &cot, 1, &asdu), IDEA_RESULT_INVALID_ARGUMENT);
    CHECK(asdu == NULL);
}

static void malformed_frames(void) {
    IdeaIec104ApduInfo info;
    IdeaIec104Asdu *asdu = NULL;
    size_t used = 0;
    uint8_t bad_start[] = {0x69, 0x04, 0x07, 0x00, 0x00, 0x00};
    CHECK_FAILS(idea_iec104_apdu_decode(bad_start, sizeof bad_start, NULL, &info, &asdu, &used),
                IDEA_RESULT_IEC104_DECODE);
    CHECK_LAST_ERROR_HAS("byte 0: start: 0x69 is not 0x68");
    uint8_t truncated[sizeof MEASURED - 1];
    memcpy(truncated, MEASURED, sizeof truncated);
    CHECK_FAILS(idea_iec104_apdu_decode(truncated, sizeof truncated, NULL, &info, &asdu, &used),
                IDEA_RESULT_IEC104_DECODE);
    CHECK_LAST_ERROR_HAS("byte 19: length: 18 octets announced, 17 present");
    CHECK(asdu == NULL);
    /* Invalid ASDU parameters are refused before any byte is read. */
    IdeaIec104AsduParams wrong = {3, 2, 3};
    CHECK_FAILS(idea_iec104_apdu_decode(MEASURED, sizeof MEASURED, &wrong, &info, &asdu, &used),
                IDEA_RESULT_IEC104_PARAMETERS);

    size_t needed = 0;
    CHECK_OK(idea_iec104_apdu_frame_length(MEASURED, 1, &needed));
    CHECK(needed == 2);
    CHECK_OK(idea_iec104_apdu_frame_length(MEASURED, 2, &needed));
    CHECK(needed == sizeof MEASURED);
}

/* Moves every frame `from` has to send at `now` into `to`; returns how many. */
static int pump(IdeaIec104Link *from, IdeaIec104Link *to, uint64_t now) {
    int frames = 0;
    for (;;) {
        uint8_t wire[IDEA_IEC104_MAX_APDU];
        size_t len = 0;
        CHECK_OK(idea_iec104_link_poll_transmit(from, now, wire, sizeof wire, &len));
        if (len == 0) return frames;
        CHECK_OK(idea_iec104_link_receive(to, wire, len, now));
        frames++;
    }
}

/* The next event's kind; an ASDU event's ASDU is checked to be a measured value and freed. */
static uint32_t next_event(IdeaIec104Link *link, IdeaIec104LinkEvent *event) {
    IdeaIec104Asdu *asdu = NULL;
    CHECK_OK(idea_iec104_link_poll_event(link, event, &asdu));
    if (event->kind == IDEA_IEC104_EVENT_KIND_ASDU) {
        IdeaIec104AsduHeader h;
        CHECK(asdu != NULL);
        CHECK_OK(idea_iec104_asdu_header(asdu, &h));
        CHECK(h.type_id == 13);
        CHECK_OK(idea_iec104_asdu_free(&asdu));
    } else {
        CHECK(asdu == NULL);
    }
    return event->kind;
}

static IdeaIec104Asdu *measured_asdu(void) {
    IdeaIec104ApduInfo info;
    IdeaIec104Asdu *asdu = NULL;
    size_t used;
    CHECK_OK(idea_iec104_apdu_decode(MEASURED, sizeof MEASURED, NULL, &info, &asdu, &used));
    return asdu;
}

static void two_links_talk(void) {
    IdeaIec104LinkParams params;
    CHECK_OK(idea_iec104_link_params_default(&params));
    CHECK(params.k == 12 && params.w == 8 && params.t1_ms == 15000 && params.t3_ms == 20000);
    IdeaIec104LinkParams broken = params;
    broken.w = 10; /* above two thirds of k */
    IdeaIec104Link *client = NULL, *server = NULL;
    CHECK_FAILS(idea_iec104_link_new(IDEA_IEC104_ROLE_CONTROLLING, &broken, NULL, 0, &client),
                IDEA_RESULT_IEC104_PARAMETERS);
    CHECK_LAST_ERROR_HAS("w = 10 exceeds two thirds of k = 12");
    CHECK_FAILS(idea_iec104_link_new(7, NULL, NULL, 0, &client), IDEA_RESULT_INVALID_ARGUMENT);

    uint64_t now = 1000000; /* any origin */
    CHECK_OK(idea_iec104_link_new(IDEA_IEC104_ROLE_CONTROLLING, &params, NULL, now, &client));
    CHECK_OK(idea_iec104_link_new(IDEA_IEC104_ROLE_CONTROLLED, NULL, NULL, now, &server));

    /* STARTDT act and con. */
    CHECK_OK(idea_iec104_link_start(client));
    CHECK(pump(client, server, now) == 1);
    IdeaIec104LinkEvent ev;
    CHECK(next_event(server, &ev) == IDEA_IEC104_EVENT_KIND_STARTED);
    CHECK(pump(server, client, now) == 1);
    CHECK(next_event(client, &ev) == IDEA_IEC104_EVENT_KIND_STARTED);
    CHECK(next_event(client, &ev) == IDEA_IEC104_EVENT_KIND_NONE);

    /* Eight measured values: the client acknowledges with an S frame after w = 8. */
    IdeaIec104Asdu *asdu = measured_asdu();
    for (int i = 0; i < 8; i++) CHECK_OK(idea_iec104_link_send_asdu(server, asdu));
    CHECK_OK(idea_iec104_asdu_free(&asdu));
    bool started = false, closed = true;
    size_t unacked = 0, queued = 0;
    CHECK_OK(idea_iec104_link_status(server, &started, &closed, &unacked, &queued));
    CHECK(started && !closed && unacked == 0 && queued == 8);
    CHECK(pump(server, client, now) == 8);
    CHECK_OK(idea_iec104_link_status(server, NULL, NULL, &unacked, &queued));
    CHECK(unacked == 8 && queued == 0);
    for (int i = 0; i < 8; i++) CHECK(next_event(client, &ev) == IDEA_IEC104_EVENT_KIND_ASDU);

    /* The S frame, split across two reads, still acknowledges all eight. */
    uint8_t s_frame[IDEA_IEC104_MAX_APDU];
    size_t len = 0;
    CHECK_OK(idea_iec104_link_poll_transmit(client, now, s_frame, sizeof s_frame, &len));
    CHECK(len == 6 && s_frame[2] == 0x01 && s_frame[4] == 0x10); /* N(R) = 8 */
    CHECK_OK(idea_iec104_link_receive(server, s_frame, 3, now));
    CHECK_OK(idea_iec104_link_status(server, NULL, NULL, &unacked, NULL));
    CHECK(unacked == 8);
    CHECK_OK(idea_iec104_link_receive(server, s_frame + 3, 3, now));
    CHECK_OK(idea_iec104_link_status(server, NULL, NULL, &unacked, NULL));
    CHECK(unacked == 0);

    /* Too small a buffer keeps the frame for the next poll. */
    asdu = measured_asdu();
    CHECK_OK(idea_iec104_link_send_asdu(server, asdu));
    CHECK_OK(idea_iec104_asdu_free(&asdu));
    uint8_t tiny[4];
    CHECK_FAILS(idea_iec104_link_poll_transmit(server, now, tiny, sizeof tiny, &len), IDEA_RESULT_BUFFER_TOO_SMALL);
    CHECK(len == sizeof MEASURED);
    CHECK(pump(server, client, now) == 1);
    CHECK(next_event(client, &ev) == IDEA_IEC104_EVENT_KIND_ASDU);

    /* Idle: the client's next deadline is t2 for the unacknowledged I frame (10 s). */
    bool has = false;
    uint64_t deadline = 0;
    CHECK_OK(idea_iec104_link_poll_timeout(client, &has, &deadline));
    CHECK(has && deadline == now + 10000);
    now = deadline;
    CHECK_OK(idea_iec104_link_handle_timeout(client, now));
    CHECK(pump(client, server, now) == 1); /* the S frame */
    /* Then t3: 20 s after the last frame received, a TESTFR act, answered by a con. */
    CHECK_OK(idea_iec104_link_poll_timeout(client, &has, &deadline));
    CHECK(has && deadline == 1000000 + 20000);
    now = deadline;
    CHECK_OK(idea_iec104_link_handle_timeout(client, now));
    uint8_t test_act[IDEA_IEC104_MAX_APDU];
    CHECK_OK(idea_iec104_link_poll_transmit(client, now, test_act, sizeof test_act, &len));
    CHECK(len == 6 && test_act[2] == 0x43);
    CHECK_OK(idea_iec104_link_receive(server, test_act, len, now));
    CHECK(pump(server, client, now) == 1);

    /* Time going backwards is refused. */
    CHECK_FAILS(idea_iec104_link_handle_timeout(client, now - 1), IDEA_RESULT_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("time went backwards");

    /* The server sends and the client never acknowledges: t1 (15 s) closes the server's link. */
    asdu = measured_asdu();
    CHECK_OK(idea_iec104_link_send_asdu(server, asdu));
    CHECK_OK(idea_iec104_asdu_free(&asdu));
    uint8_t lost[IDEA_IEC104_MAX_APDU];
    CHECK_OK(idea_iec104_link_poll_transmit(server, now, lost, sizeof lost, &len));
    CHECK(len > 0);
    now += 15000;
    CHECK_OK(idea_iec104_link_handle_timeout(server, now));
    CHECK(next_event(server, &ev) == IDEA_IEC104_EVENT_KIND_CLOSED);
    CHECK(ev.close_reason == IDEA_IEC104_CLOSE_REASON_T1_EXPIRED);
    CHECK_OK(idea_iec104_link_status(server, NULL, &closed, NULL, NULL));
    CHECK(closed);
    CHECK_OK(idea_iec104_link_poll_timeout(server, &has, &deadline));
    CHECK(!has);
    asdu = measured_asdu();
    CHECK_FAILS(idea_iec104_link_send_asdu(server, asdu), IDEA_RESULT_IEC104_LINK_CLOSED);
    CHECK_OK(idea_iec104_asdu_free(&asdu));

    /* Malformed bytes close the client's link with the reason. */
    uint8_t garbage[] = {0x68, 0x02, 0x00, 0x00};
    CHECK_FAILS(idea_iec104_link_receive(client, garbage, sizeof garbage, now), IDEA_RESULT_IEC104_DECODE);
    CHECK_LAST_ERROR_HAS("byte 1: length: 2 is not within 4..=253");
    CHECK(next_event(client, &ev) == IDEA_IEC104_EVENT_KIND_CLOSED);
    CHECK(ev.close_reason == IDEA_IEC104_CLOSE_REASON_MALFORMED_FRAME);
    CHECK(next_event(client, &ev) == IDEA_IEC104_EVENT_KIND_NONE);
    CHECK_FAILS(idea_iec104_link_receive(client, s_frame, 6, now), IDEA_RESULT_IEC104_LINK_CLOSED);

    CHECK_OK(idea_iec104_link_free(&client));
    CHECK_OK(idea_iec104_link_free(&server));
    CHECK_OK(idea_iec104_link_free(&server));
    CHECK(client == NULL && server == NULL);
}

static void sequence_error_closes(void) {
    IdeaIec104Link *server = NULL;
    uint64_t now = 0;
    CHECK_OK(idea_iec104_link_new(IDEA_IEC104_ROLE_CONTROLLED, NULL, NULL, now, &server));
    /* An I frame before STARTDT: the link closes, naming why. */
    CHECK_OK(idea_iec104_link_receive(server, MEASURED, sizeof MEASURED, now));
    IdeaIec104LinkEvent ev;
    CHECK(next_event(server, &ev) == IDEA_IEC104_EVENT_KIND_CLOSED);
    CHECK(ev.close_reason == IDEA_IEC104_CLOSE_REASON_I_FRAME_BEFORE_START);
    CHECK_OK(idea_iec104_link_free(&server));

    /* After STARTDT, an I frame with N(S) 5 where 0 was expected. */
    CHECK_OK(idea_iec104_link_new(IDEA_IEC104_ROLE_CONTROLLED, NULL, NULL, now, &server));
    uint8_t start[] = {0x68, 0x04, 0x07, 0x00, 0x00, 0x00};
    CHECK_OK(idea_iec104_link_receive(server, start, sizeof start, now));
    CHECK(next_event(server, &ev) == IDEA_IEC104_EVENT_KIND_STARTED);
    uint8_t skipped[sizeof MEASURED];
    memcpy(skipped, MEASURED, sizeof skipped);
    skipped[2] = 5 << 1;
    CHECK_OK(idea_iec104_link_receive(server, skipped, sizeof skipped, now));
    CHECK(next_event(server, &ev) == IDEA_IEC104_EVENT_KIND_CLOSED);
    CHECK(ev.close_reason == IDEA_IEC104_CLOSE_REASON_WRONG_SEND_SEQUENCE);
    CHECK(ev.expected == 0 && ev.received == 5);
    CHECK_OK(idea_iec104_link_free(&server));
}

static void time_elements(void) {
    uint8_t cp56[7];
    /* 2026-12-03 16:10:00.250 UTC */
    CHECK_OK(idea_iec104_cp56_from_unix_ms(1796314200250LL, cp56));
    int64_t back = 0;
    CHECK_OK(idea_iec104_cp56_to_unix_ms(cp56, &back));
    CHECK(back == 1796314200250LL);
    CHECK(cp56[6] == 26 && cp56[5] == 12);
    CHECK_FAILS(idea_iec104_cp56_from_unix_ms(0, cp56), IDEA_RESULT_INVALID_ARGUMENT); /* 1970 */
    IdeaIec104Element t;
    memset(&t, 0, sizeof t);
    t.kind = IDEA_IEC104_ELEMENT_KIND_CP56;
    double number;
    CHECK_FAILS(idea_iec104_element_number(&t, &number), IDEA_RESULT_INVALID_ARGUMENT);
}

int main(void) {
    decode_a_measured_value();
    build_and_encode_a_setpoint();
    malformed_frames();
    two_links_talk();
    sequence_error_closes();
    time_elements();
    puts("iec104: ok");
    return 0;
}
