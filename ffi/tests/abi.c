/* The ABI's own rules from C: version, result names, the last error, null pointers, short buffers, double
 * free, handles of the wrong type, invalid UTF-8, and a panic inside caught and reported. */
#include "check.h"

static void version(void) {
    CHECK(idea_abi_version() == IDEA_ABI_VERSION);
    CHECK(strlen(idea_version()) > 0);
    CHECK(strcmp(idea_result_name(IDEA_RESULT_OK), "IDEA_RESULT_OK") == 0);
    CHECK(strcmp(idea_result_name(IDEA_RESULT_BUFFER_TOO_SMALL), "IDEA_RESULT_BUFFER_TOO_SMALL") == 0);
    CHECK(strcmp(idea_result_name(IDEA_RESULT_IEC104_DECODE), "IDEA_RESULT_IEC104_DECODE") == 0);
    CHECK(strcmp(idea_result_name(12345), "IDEA_RESULT_UNKNOWN") == 0);
}

static void last_error_protocol(void) {
    /* Nothing failed yet on this thread: the message is empty. */
    char buf[256];
    size_t len = 99;
    CHECK_OK(idea_last_error(buf, sizeof buf, &len));
    CHECK(len == 0 && buf[0] == '\0');

    /* A failure: its message; the length query with a null buffer; too short a buffer. */
    IdeaAclMessage *m = NULL;
    CHECK_FAILS(idea_acl_message_new("offer", &m), IDEA_RESULT_FIPA_INVALID);
    CHECK(m == NULL);
    CHECK_FAILS(idea_last_error(NULL, 0, &len), IDEA_RESULT_BUFFER_TOO_SMALL);
    CHECK(len > 10);
    CHECK_FAILS(idea_last_error(buf, len, &len), IDEA_RESULT_BUFFER_TOO_SMALL); /* no room for the NUL */
    CHECK_OK(idea_last_error(buf, len + 1, &len));
    CHECK(strlen(buf) == len);
    CHECK_LAST_ERROR_HAS("\"offer\" is not one of the 22 FIPA performatives");
    /* Reading it does not clear it. */
    CHECK_LAST_ERROR_HAS("offer");
}

static void null_pointers(void) {
    size_t len = 0;
    IdeaIec104ApduInfo info;
    IdeaIec104Asdu *asdu = NULL;
    uint8_t frame[6] = {0x68, 0x04, 0x07, 0x00, 0x00, 0x00};
    CHECK_FAILS(idea_iec104_apdu_decode(NULL, 6, NULL, &info, &asdu, &len), IDEA_RESULT_NULL_POINTER);
    CHECK_LAST_ERROR_HAS("bytes is a null pointer");
    CHECK_FAILS(idea_iec104_apdu_decode(frame, 6, NULL, NULL, &asdu, &len), IDEA_RESULT_NULL_POINTER);
    CHECK_FAILS(idea_iec104_apdu_decode(frame, 6, NULL, &info, &asdu, NULL), IDEA_RESULT_NULL_POINTER);
    CHECK_FAILS(idea_iec104_asdu_header(NULL, NULL), IDEA_RESULT_NULL_POINTER);
    CHECK_FAILS(idea_iec104_link_start(NULL), IDEA_RESULT_NULL_POINTER);
    CHECK_FAILS(idea_acl_message_new(NULL, NULL), IDEA_RESULT_NULL_POINTER);
    CHECK_FAILS(idea_acl_message_get(NULL, "sender", NULL, 0, &len), IDEA_RESULT_NULL_POINTER);
    CHECK_FAILS(idea_last_error(NULL, 0, NULL), IDEA_RESULT_NULL_POINTER);
    /* An empty input may be null. */
    CHECK_FAILS(idea_iec104_apdu_decode(NULL, 0, NULL, &info, &asdu, &len), IDEA_RESULT_IEC104_DECODE);
    CHECK_LAST_ERROR_HAS("byte 0: start: empty input");
    /* Freeing through a null pointer, or a null handle, does nothing. */
    CHECK_OK(idea_iec104_asdu_free(NULL));
    CHECK_OK(idea_iec104_asdu_free(&asdu));
}

static void short_buffers(void) {
    uint8_t small[3];
    size_t len = 0;
    CHECK_FAILS(idea_iec104_apdu_encode_u(IDEA_IEC104_U_FUNCTION_START_DT_ACT, small, sizeof small, &len),
                IDEA_RESULT_BUFFER_TOO_SMALL);
    CHECK(len == 6);
    CHECK_FAILS(idea_iec104_apdu_encode_u(IDEA_IEC104_U_FUNCTION_START_DT_ACT, NULL, 0, &len),
                IDEA_RESULT_BUFFER_TOO_SMALL);
    CHECK(len == 6);
    uint8_t six[6];
    CHECK_OK(idea_iec104_apdu_encode_u(IDEA_IEC104_U_FUNCTION_START_DT_ACT, six, sizeof six, &len));
    CHECK(len == 6 && six[0] == 0x68 && six[2] == 0x07);

    IdeaAclMessage *m = NULL;
    CHECK_OK(idea_acl_message_new("inform", &m));
    CHECK_OK(idea_acl_message_set(m, "sender", "meter@cell-1"));
    char name[12]; /* "meter@cell-1" is 12 characters: no room for the NUL */
    CHECK_FAILS(idea_acl_message_get(m, "sender", name, sizeof name, &len), IDEA_RESULT_BUFFER_TOO_SMALL);
    CHECK(len == 12);
    char enough[13];
    CHECK_OK(idea_acl_message_get(m, "sender", enough, sizeof enough, &len));
    CHECK(strcmp(enough, "meter@cell-1") == 0);
    CHECK_OK(idea_acl_message_free(&m));
}

static void double_free_and_wrong_handles(void) {
    IdeaAclMessage *m = NULL;
    CHECK_OK(idea_acl_message_new("cfp", &m));
    IdeaAclMessage *alias = m;
    /* A message handle passed where an ASDU is expected is refused, not read as one. */
    IdeaIec104AsduHeader header;
    CHECK_FAILS(idea_iec104_asdu_header((const IdeaIec104Asdu *)(const void *)m, &header),
                IDEA_RESULT_INVALID_HANDLE);
    CHECK_LAST_ERROR_HAS("not a live IdeaIec104Asdu");
    CHECK_OK(idea_acl_message_free(&m));
    CHECK(m == NULL);
    CHECK_OK(idea_acl_message_free(&m)); /* the same variable again: nothing happens */
    (void)alias;                          /* a copy of a freed handle must not be used; valgrind would see it */
}

static void invalid_utf8(void) {
    IdeaAclMessage *m = NULL;
    CHECK_FAILS(idea_acl_message_new("c\xff" "fp", &m), IDEA_RESULT_INVALID_UTF8);
    CHECK_LAST_ERROR_HAS("performative is not UTF-8 (byte 1)");
    CHECK_OK(idea_acl_message_new("request", &m));
    CHECK_FAILS(idea_acl_message_set(m, "ontology", "idea-\xc3"), IDEA_RESULT_INVALID_UTF8);
    CHECK_OK(idea_acl_message_free(&m));
}

static void panic_is_caught(void) {
    CHECK_FAILS(idea_test_panic(), IDEA_RESULT_PANIC);
    CHECK_LAST_ERROR_HAS("panic inside the library: forced by idea_test_panic");
    /* The library still works afterwards. */
    uint8_t six[6];
    size_t len = 0;
    CHECK_OK(idea_iec104_apdu_encode_s(5, six, sizeof six, &len));
    CHECK(six[2] == 0x01 && six[4] == 0x0a);
}

int main(void) {
    version();
    last_error_protocol();
    null_pointers();
    short_buffers();
    double_free_and_wrong_handles();
    invalid_utf8();
    panic_is_caught();
    puts("abi: ok");
    return 0;
}
