/* FIPA-ACL from C: every real message of ../shared/fipa-acl/vectors (JADE string form, bit-efficient) decoded,
 * written in all three representations and read back to the same message; a call for proposals built, read
 * field by field, answered; and what a representation cannot carry refused. Vector files are the arguments. */
#include "check.h"

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long size = ftell(f);
    CHECK(size > 0);
    CHECK(fseek(f, 0, SEEK_SET) == 0);
    uint8_t *data = malloc((size_t)size);
    CHECK(data != NULL);
    CHECK(fread(data, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return data;
}

/* The message in `representation`, in a malloc'd buffer the caller frees (asked for its length first). */
static uint8_t *encoded(const IdeaAclMessage *m, uint32_t representation, size_t *len) {
    CHECK_FAILS(idea_acl_message_encode(m, representation, NULL, 0, len), IDEA_RESULT_BUFFER_TOO_SMALL);
    uint8_t *out = malloc(*len);
    CHECK(out != NULL);
    CHECK_OK(idea_acl_message_encode(m, representation, out, *len, len));
    return out;
}

/* The bit-efficient form carries every field (user-defined types and binary content included): two messages
 * are the same when it is. */
static uint8_t *reference_form(const IdeaAclMessage *m, size_t *len) {
    return encoded(m, IDEA_ACL_REPRESENTATION_BIT_EFFICIENT, len);
}

static void round_trip_vector(const char *path) {
    size_t len = 0, used = 0;
    uint8_t *data = read_file(path, &len);
    IdeaAclMessage *m = NULL;
    uint32_t found = 99;
    CHECK_OK(idea_acl_message_decode(data, len, IDEA_ACL_REPRESENTATION_ANY, &m, &used, &found));
    CHECK(used > 0 && used <= len);
    CHECK(found == IDEA_ACL_REPRESENTATION_STRING || found == IDEA_ACL_REPRESENTATION_BIT_EFFICIENT);
    char performative[32];
    size_t plen;
    CHECK_OK(idea_acl_message_get(m, "performative", performative, sizeof performative, &plen));
    CHECK(plen > 0);

    size_t reference_len = 0;
    uint8_t *reference = reference_form(m, &reference_len);
    static const uint32_t forms[] = {IDEA_ACL_REPRESENTATION_STRING, IDEA_ACL_REPRESENTATION_XML,
                                     IDEA_ACL_REPRESENTATION_BIT_EFFICIENT};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        size_t wire_len = 0;
        IdeaResult r = idea_acl_message_encode(m, forms[i], NULL, 0, &wire_len);
        if (r == IDEA_RESULT_FIPA_INVALID) {
            /* What a form cannot carry (a user-defined type as a string, binary content in XML) is refused. */
            CHECK(forms[i] != IDEA_ACL_REPRESENTATION_BIT_EFFICIENT);
            continue;
        }
        CHECK(r == IDEA_RESULT_BUFFER_TOO_SMALL);
        uint8_t *wire = malloc(wire_len);
        CHECK(wire != NULL);
        CHECK_OK(idea_acl_message_encode(m, forms[i], wire, wire_len, &wire_len));
        IdeaAclMessage *back = NULL;
        CHECK_OK(idea_acl_message_decode(wire, wire_len, forms[i], &back, &used, NULL));
        /* The XML form ends with a newline after the root element, which is not part of the message. */
        CHECK(used <= wire_len);
        for (size_t k = used; k < wire_len; k++) CHECK(wire[k] == '\n');
        size_t again_len = 0;
        uint8_t *again = reference_form(back, &again_len);
        if (again_len != reference_len || memcmp(again, reference, again_len) != 0) {
            fprintf(stderr, "%s: representation %u changed the message\n", path, (unsigned)forms[i]);
            exit(1);
        }
        free(again);
        CHECK_OK(idea_acl_message_free(&back));
        free(wire);
    }
    free(reference);
    CHECK_OK(idea_acl_message_free(&m));
    free(data);
}

static void build_read_and_reply(void) {
    IdeaAclMessage *cfp = NULL;
    CHECK_OK(idea_acl_message_new("CFP", &cfp));
    CHECK_OK(idea_acl_message_set(cfp, "sender", "buyer@cell-7"));
    CHECK_OK(idea_acl_message_add_agent(cfp, IDEA_ACL_AGENT_LIST_RECEIVERS, "seller@cell-3"));
    CHECK_OK(idea_acl_message_add_agent(cfp, IDEA_ACL_AGENT_LIST_RECEIVERS, "seller@cell-4"));
    CHECK_FAILS(idea_acl_message_add_agent(cfp, IDEA_ACL_AGENT_LIST_RECEIVERS, ""), IDEA_RESULT_INVALID_ARGUMENT);
    CHECK_FAILS(idea_acl_message_add_agent(cfp, 9, "x"), IDEA_RESULT_INVALID_ARGUMENT);
    static const char content[] = "((action (agent-identifier :name seller@cell-3) (sell (energy 12 kWh))))";
    CHECK_OK(idea_acl_message_set_content(cfp, (const uint8_t *)content, strlen(content)));
    CHECK_OK(idea_acl_message_set(cfp, "language", "fipa-sl0"));
    CHECK_OK(idea_acl_message_set(cfp, "ontology", "idea-energy"));
    CHECK_OK(idea_acl_message_set(cfp, "protocol", "fipa-contract-net"));
    CHECK_OK(idea_acl_message_set(cfp, "conversation-id", "trade 42"));
    CHECK_OK(idea_acl_message_set(cfp, "reply-with", "cfp-1"));
    CHECK_OK(idea_acl_message_set(cfp, "reply-by", "20261203T170000000Z"));
    CHECK_OK(idea_acl_message_set(cfp, "X-interval", "900"));
    CHECK_FAILS(idea_acl_message_set(cfp, "reply-by", "tomorrow"), IDEA_RESULT_FIPA_DECODE);
    CHECK_FAILS(idea_acl_message_set(cfp, "colour", "blue"), IDEA_RESULT_INVALID_ARGUMENT);

    /* Through the string form and back, then read field by field. */
    size_t wire_len = 0, used = 0;
    uint8_t *wire = encoded(cfp, IDEA_ACL_REPRESENTATION_STRING, &wire_len);
    IdeaAclMessage *read = NULL;
    CHECK_OK(idea_acl_message_decode(wire, wire_len, IDEA_ACL_REPRESENTATION_STRING, &read, &used, NULL));
    free(wire);
    char text[128];
    size_t len = 0;
    CHECK_OK(idea_acl_message_get(read, "performative", text, sizeof text, &len));
    CHECK(strcmp(text, "cfp") == 0);
    CHECK_OK(idea_acl_message_get(read, "conversation-id", text, sizeof text, &len));
    CHECK(strcmp(text, "trade 42") == 0);
    CHECK_OK(idea_acl_message_get(read, "x-interval", text, sizeof text, &len));
    CHECK(strcmp(text, "900") == 0);
    CHECK_OK(idea_acl_message_get(read, "reply-by", text, sizeof text, &len));
    CHECK(strcmp(text, "20261203T170000000Z") == 0);
    CHECK_FAILS(idea_acl_message_get(read, "in-reply-to", text, sizeof text, &len), IDEA_RESULT_NOT_FOUND);
    size_t count = 0;
    CHECK_OK(idea_acl_message_agent_count(read, IDEA_ACL_AGENT_LIST_RECEIVERS, &count));
    CHECK(count == 2);
    CHECK_OK(idea_acl_message_agent(read, IDEA_ACL_AGENT_LIST_RECEIVERS, 1, text, sizeof text, &len));
    CHECK(strcmp(text, "seller@cell-4") == 0);
    CHECK_FAILS(idea_acl_message_agent(read, IDEA_ACL_AGENT_LIST_RECEIVERS, 2, text, sizeof text, &len),
                IDEA_RESULT_INVALID_ARGUMENT);
    uint8_t body[128];
    CHECK_OK(idea_acl_message_content(read, body, sizeof body, &len));
    CHECK(len == strlen(content) && memcmp(body, content, len) == 0);

    /* The seller's proposal: to the buyer, in the same conversation, quoting reply-with. */
    IdeaAclMessage *propose = NULL;
    CHECK_OK(idea_acl_message_reply(read, "propose", "seller@cell-3", &propose));
    CHECK_OK(idea_acl_message_get(propose, "in-reply-to", text, sizeof text, &len));
    CHECK(strcmp(text, "cfp-1") == 0);
    CHECK_OK(idea_acl_message_get(propose, "protocol", text, sizeof text, &len));
    CHECK(strcmp(text, "fipa-contract-net") == 0);
    CHECK_OK(idea_acl_message_agent(propose, IDEA_ACL_AGENT_LIST_RECEIVERS, 0, text, sizeof text, &len));
    CHECK(strcmp(text, "buyer@cell-7") == 0);
    CHECK_FAILS(idea_acl_message_content(propose, body, sizeof body, &len), IDEA_RESULT_NOT_FOUND);

    /* Binary content: carried by the string and bit-efficient forms, refused by XML. */
    static const uint8_t binary[] = {0x00, 0xff, 0x10};
    CHECK_OK(idea_acl_message_set_content(propose, binary, sizeof binary));
    CHECK_FAILS(idea_acl_message_encode(propose, IDEA_ACL_REPRESENTATION_XML, NULL, 0, &len), IDEA_RESULT_FIPA_INVALID);
    CHECK_FAILS(idea_acl_message_encode(propose, IDEA_ACL_REPRESENTATION_ANY, NULL, 0, &len),
                IDEA_RESULT_INVALID_ARGUMENT);

    /* Removing a parameter. */
    CHECK_OK(idea_acl_message_set(propose, "protocol", NULL));
    CHECK_FAILS(idea_acl_message_get(propose, "protocol", text, sizeof text, &len), IDEA_RESULT_NOT_FOUND);

    CHECK_OK(idea_acl_message_free(&propose));
    CHECK_OK(idea_acl_message_free(&read));
    CHECK_OK(idea_acl_message_free(&cfp));
}

static void malformed_messages(void) {
    IdeaAclMessage *m = NULL;
    size_t used = 0;
    static const char unclosed[] = "(inform :sender (agent-identifier :name a) :content \"x\"";
    CHECK_FAILS(idea_acl_message_decode((const uint8_t *)unclosed, strlen(unclosed), IDEA_ACL_REPRESENTATION_STRING,
                                        &m, &used, NULL),
                IDEA_RESULT_FIPA_DECODE);
    CHECK(m == NULL);
    CHECK_LAST_ERROR_HAS("byte ");
    /* Nesting beyond the limit is refused as a limit, not a crash. */
    char deep[4096];
    size_t n = 0;
    n += (size_t)sprintf(deep, "(inform :content \"x\" :X-deep ");
    for (int i = 0; i < 1000; i++) deep[n++] = '(';
    deep[n++] = 'a';
    for (int i = 0; i < 1000; i++) deep[n++] = ')';
    deep[n++] = ')';
    CHECK_FAILS(idea_acl_message_decode((const uint8_t *)deep, n, IDEA_ACL_REPRESENTATION_STRING, &m, &used, NULL),
                IDEA_RESULT_FIPA_LIMIT);
    CHECK_FAILS(idea_acl_message_decode((const uint8_t *)deep, n, 17, &m, &used, NULL), IDEA_RESULT_INVALID_ARGUMENT);
}

int main(int argc, char **argv) {
    CHECK(argc > 1); /* the vectors */
    for (int i = 1; i < argc; i++) round_trip_vector(argv[i]);
    build_read_and_reply();
    malformed_messages();
    printf("fipa: ok (%d vectors)\n", argc - 1);
    return 0;
}
