/* Decodes an IEC 104 frame given in hex on the command line and prints its measured values.
 *   decode 68 12 00 00 00 00 0d 01 03 00 01 00 e9 03 00 00 00 48 42 00
 * Build: cc -std=c99 decode.c $(pkg-config --cflags --libs idea) -o decode */
#include <stdio.h>
#include <stdlib.h>

#include "idea.h"

static int fail(IdeaResult r) {
    char message[256];
    size_t len = 0;
    idea_last_error(message, sizeof message, &len);
    fprintf(stderr, "%s: %s\n", idea_result_name(r), message);
    return 1;
}

int main(int argc, char **argv) {
    uint8_t frame[IDEA_IEC104_MAX_APDU];
    size_t len = 0, used = 0;
    for (int i = 1; i < argc && len < sizeof frame; i++) frame[len++] = (uint8_t)strtoul(argv[i], NULL, 16);

    IdeaIec104ApduInfo info;
    IdeaIec104Asdu *asdu = NULL;
    IdeaResult r = idea_iec104_apdu_decode(frame, len, NULL, &info, &asdu, &used);
    if (r != IDEA_RESULT_OK) return fail(r);
    if (asdu == NULL) {
        printf("%s frame, no ASDU\n", info.kind == IDEA_IEC104_FRAME_KIND_S ? "S" : "U");
        return 0;
    }
    IdeaIec104AsduHeader header;
    idea_iec104_asdu_header(asdu, &header);
    const char *type = idea_iec104_type_name(header.type_id);
    printf("%s, cause %u, station %u\n", type ? type : "unknown type", header.cot.cause, header.common_address);
    for (size_t i = 0; i < header.object_count; i++) {
        uint32_t ioa = 0;
        size_t elements = 0;
        IdeaIec104Element value;
        double number = 0;
        idea_iec104_asdu_object(asdu, i, &ioa, &elements);
        if (elements > 0 && idea_iec104_asdu_element(asdu, i, 0, &value) == IDEA_RESULT_OK &&
            idea_iec104_element_number(&value, &number) == IDEA_RESULT_OK)
            printf("  IOA %u = %g\n", (unsigned)ioa, number);
    }
    idea_iec104_asdu_free(&asdu); /* sets asdu to NULL: a second free does nothing */
    return 0;
}
