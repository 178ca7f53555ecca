/* A gateway in C on the IDEA SDK's C ABI: it owns its sockets and its clock, and drives
 *   - the IEC 60870-5-104 link layer to an IDEA smart meter: STARTDT, a general interrogation, every measured
 *     value until the activation termination (IEC 104 clause 5, IEC 60870-5-101 clause 7.4.5);
 *   - a SunSpec read of a Modbus TCP meter: discovery of its models, then model 203's power and frequency.
 *
 *   gateway IEC104_HOST:PORT MODBUS_HOST:PORT
 *
 * It prints one line per value and exits 0 when both meters answered, 1 otherwise.
 * Build: cc -std=c99 gateway.c $(pkg-config --cflags --libs idea) -o gateway */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "idea.h"

/* Milliseconds of the monotonic clock: the time the link layer is driven by. */
static uint64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* Prints a failed call with the library's reason and returns 0, so `if (!ok(...))` reads naturally. */
static int ok(IdeaResult r, const char *what) {
    if (r == IDEA_RESULT_OK) return 1;
    char message[512];
    size_t len = 0;
    if (idea_last_error(message, sizeof message, &len) != IDEA_RESULT_OK) message[0] = '\0';
    fprintf(stderr, "gateway: %s: %s: %s\n", what, idea_result_name(r), message);
    return 0;
}

/* A TCP connection to HOST:PORT, or -1. */
static int connect_to(const char *address) {
    char host[256];
    const char *colon = strrchr(address, ':');
    if (colon == NULL || (size_t)(colon - address) >= sizeof host) return -1;
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = '\0';
    struct addrinfo hints, *found = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, colon + 1, &hints, &found) != 0) return -1;
    int fd = -1;
    for (struct addrinfo *a = found; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(found);
    return fd;
}

static int send_all(int fd, const uint8_t *bytes, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, bytes, len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        bytes += n;
        len -= (size_t)n;
    }
    return 1;
}

/* Sends every frame the link has for now. */
static int flush_link(int fd, IdeaIec104Link *link) {
    for (;;) {
        uint8_t frame[IDEA_IEC104_MAX_APDU];
        size_t len = 0;
        if (!ok(idea_iec104_link_poll_transmit(link, now_ms(), frame, sizeof frame, &len), "poll_transmit")) return 0;
        if (len == 0) return 1;
        if (!send_all(fd, frame, len)) return 0;
    }
}

/* The general interrogation of station `ca`: C_IC_NA_1 (100), activation, IOA 0, QOI 20. */
static IdeaIec104Asdu *interrogation(uint16_t ca) {
    IdeaIec104Cot cot = {6, false, false, 0};
    IdeaIec104Asdu *asdu = NULL;
    IdeaIec104Element qoi;
    memset(&qoi, 0, sizeof qoi);
    qoi.kind = IDEA_IEC104_ELEMENT_KIND_QOI;
    qoi.value = 20;
    if (!ok(idea_iec104_asdu_new(100, &cot, ca, &asdu), "asdu_new")) return NULL;
    if (!ok(idea_iec104_asdu_push_object(asdu, 0, &qoi, 1), "push_object")) idea_iec104_asdu_free(&asdu);
    return asdu;
}

/* Prints the measured values of an ASDU; returns 1 when it is the interrogation's activation termination. */
static int show_asdu(const IdeaIec104Asdu *asdu, int *values) {
    IdeaIec104AsduHeader h;
    if (!ok(idea_iec104_asdu_header(asdu, &h), "asdu_header")) return 0;
    if (h.type_id == 100) return h.cot.cause == 10;
    const char *name = idea_iec104_type_name(h.type_id);
    for (size_t i = 0; i < h.object_count; i++) {
        uint32_t ioa = 0;
        size_t elements = 0;
        IdeaIec104Element first;
        double value = 0;
        if (!ok(idea_iec104_asdu_object(asdu, i, &ioa, &elements), "asdu_object")) return 0;
        if (elements == 0 || !ok(idea_iec104_asdu_element(asdu, i, 0, &first), "asdu_element")) continue;
        if (idea_iec104_element_number(&first, &value) != IDEA_RESULT_OK) continue;
        printf("iec104 %s ioa=%u value=%.3f\n", name != NULL ? name : "?", (unsigned)ioa, value);
        (*values)++;
    }
    return 0;
}

/* STARTDT, a general interrogation, every value until its termination. Returns how many values it printed. */
static int read_iec104(const char *address) {
    int fd = connect_to(address);
    if (fd < 0) {
        fprintf(stderr, "gateway: cannot connect to %s\n", address);
        return 0;
    }
    IdeaIec104Link *link = NULL;
    int values = 0, done = 0, asked = 0;
    uint64_t give_up = now_ms() + 10000;
    if (!ok(idea_iec104_link_new(IDEA_IEC104_ROLE_CONTROLLING, NULL, NULL, now_ms(), &link), "link_new")) goto out;
    if (!ok(idea_iec104_link_start(link), "link_start")) goto out;
    while (!done && now_ms() < give_up) {
        if (!flush_link(fd, link)) goto out;
        bool has = false;
        uint64_t deadline = 0;
        if (!ok(idea_iec104_link_poll_timeout(link, &has, &deadline), "poll_timeout")) goto out;
        uint64_t now = now_ms();
        int wait = has ? (deadline > now ? (int)(deadline - now) : 0) : 1000;
        struct pollfd p = {fd, POLLIN, 0};
        int ready = poll(&p, 1, wait > 1000 ? 1000 : wait);
        if (ready < 0 && errno != EINTR) goto out;
        if (ready > 0) {
            uint8_t bytes[4096];
            ssize_t n = recv(fd, bytes, sizeof bytes, 0);
            if (n <= 0) goto out;
            if (!ok(idea_iec104_link_receive(link, bytes, (size_t)n, now_ms()), "link_receive")) goto out;
        }
        if (!ok(idea_iec104_link_handle_timeout(link, now_ms()), "handle_timeout")) goto out;
        for (;;) {
            IdeaIec104LinkEvent event;
            IdeaIec104Asdu *asdu = NULL;
            if (!ok(idea_iec104_link_poll_event(link, &event, &asdu), "poll_event")) goto out;
            if (event.kind == IDEA_IEC104_EVENT_KIND_NONE) break;
            if (event.kind == IDEA_IEC104_EVENT_KIND_STARTED && !asked) {
                IdeaIec104Asdu *gi = interrogation(1);
                asked = gi != NULL && ok(idea_iec104_link_send_asdu(link, gi), "send_asdu");
                idea_iec104_asdu_free(&gi);
            } else if (event.kind == IDEA_IEC104_EVENT_KIND_ASDU) {
                done = show_asdu(asdu, &values);
                idea_iec104_asdu_free(&asdu);
            } else if (event.kind == IDEA_IEC104_EVENT_KIND_CLOSED) {
                fprintf(stderr, "gateway: the link closed (reason %u)\n", (unsigned)event.close_reason);
                goto out;
            }
        }
    }
    /* Acknowledge what arrived before leaving. */
    flush_link(fd, link);
out:
    idea_iec104_link_free(&link);
    close(fd);
    return done ? values : 0;
}

/* One Modbus TCP read of holding registers; the registers into `regs`, or the exception code. */
static int modbus_read(int fd, uint16_t transaction, uint16_t address, uint16_t count, uint16_t *regs,
                       uint8_t *exception) {
    uint8_t frame[IDEA_MODBUS_TCP_MAX_FRAME];
    size_t len = 0, have = 0, needed = 7, used = 0;
    if (!ok(idea_modbus_tcp_read_request(transaction, 1, false, address, count, frame, sizeof frame, &len),
            "read_request"))
        return 0;
    if (!send_all(fd, frame, len)) return 0;
    while (have < needed) {
        ssize_t n = recv(fd, frame + have, needed - have, 0);
        if (n <= 0) return 0;
        have += (size_t)n;
        if (!ok(idea_modbus_tcp_frame_length(frame, have, &needed), "frame_length")) return 0;
    }
    IdeaModbusResponse answer;
    if (!ok(idea_modbus_tcp_response_decode(frame, have, &answer, regs, count, &used), "response_decode")) return 0;
    if (answer.transaction != transaction) return 0;
    *exception = answer.exception;
    return answer.exception != 0 || answer.count == count;
}

/* Discovers the meter's SunSpec models and prints model 203's power and frequency. */
static int read_sunspec(const char *address) {
    int fd = connect_to(address);
    if (fd < 0) {
        fprintf(stderr, "gateway: cannot connect to %s\n", address);
        return 0;
    }
    int values = 0;
    IdeaSunspecCatalog *catalog = NULL;
    IdeaSunspecScanner *scanner = NULL;
    IdeaSunspecDevice *device = NULL;
    IdeaSunspecModel *meter = NULL;
    uint16_t transaction = 0;
    if (!ok(idea_sunspec_catalog_builtin(&catalog), "catalog")) goto out;
    if (!ok(idea_sunspec_scanner_new(catalog, &scanner), "scanner_new")) goto out;
    for (;;) {
        bool has = false;
        uint16_t at = 0, count = 0, regs[IDEA_MODBUS_MAX_READ];
        uint8_t exception = 0;
        if (!ok(idea_sunspec_scanner_poll_read(scanner, &has, &at, &count), "poll_read")) goto out;
        if (!has) break;
        if (!modbus_read(fd, ++transaction, at, count, regs, &exception)) {
            if (!ok(idea_sunspec_scanner_handle_failure(scanner, 0), "handle_failure")) goto out;
        } else if (exception != 0) {
            if (!ok(idea_sunspec_scanner_handle_failure(scanner, exception), "handle_failure")) goto out;
        } else if (!ok(idea_sunspec_scanner_handle_registers(scanner, regs, count), "handle_registers")) {
            goto out;
        }
    }
    if (!ok(idea_sunspec_scanner_finish(scanner, &device), "scan")) goto out;
    size_t models = 0;
    if (!ok(idea_sunspec_device_info(device, NULL, &models), "device_info")) goto out;
    for (size_t i = 0; i < models; i++) {
        IdeaSunspecModel *m = NULL;
        IdeaSunspecModelInfo info;
        if (!ok(idea_sunspec_device_model_at(device, i, &m), "model_at")) goto out;
        if (ok(idea_sunspec_model_info(m, &info), "model_info"))
            printf("sunspec model=%u address=%u length=%u\n", (unsigned)info.id, (unsigned)info.address,
                   (unsigned)info.length);
        idea_sunspec_model_free(&m);
    }
    if (!ok(idea_sunspec_device_find(device, 203, &meter), "model 203")) goto out;
    static const char *const points[] = {"W", "Hz", "PhVphA"};
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        double value = 0;
        bool present = false;
        if (!ok(idea_sunspec_model_get_number(meter, points[i], &value, &present), points[i])) goto out;
        if (present) {
            printf("sunspec 203 %s=%.3f\n", points[i], value);
            values++;
        }
    }
out:
    idea_sunspec_model_free(&meter);
    idea_sunspec_device_free(&device);
    idea_sunspec_scanner_free(&scanner);
    idea_sunspec_catalog_free(&catalog);
    close(fd);
    return values;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: gateway IEC104_HOST:PORT MODBUS_HOST:PORT\n");
        return 2;
    }
    if (idea_abi_version() != IDEA_ABI_VERSION) {
        fprintf(stderr, "gateway: built for ABI %d, linked with %u\n", IDEA_ABI_VERSION, idea_abi_version());
        return 2;
    }
    int iec104 = read_iec104(argv[1]);
    int sunspec = read_sunspec(argv[2]);
    printf("gateway: %d IEC 104 values, %d SunSpec values (libidea %s)\n", iec104, sunspec, idea_version());
    return iec104 > 0 && sunspec > 0 ? 0 : 1;
}
