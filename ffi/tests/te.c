/* Transactive energy from C: keys; a meter reading and a delivery token made, signed in memory and — as a
 * secure element would — over their digest, carried in their binary form and verified; every way a signed
 * object is refused (another deployment, a missing key, a wrong signer, a flipped bit); and a contract and a
 * channel state signed by the Rust crates (tests/vectors, the arguments) read and verified. */
#include "check.h"

static const char *DEPLOYMENT = "idea-test";

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

/* Avatar [n; 16] with the key from seed [n; 32], as the Rust vectors use. */
static IdeaTeKey party(uint8_t n, uint8_t secret[32]) {
    IdeaTeKey key;
    memset(key.avatar, n, sizeof key.avatar);
    key.key_version = 0;
    memset(secret, n, 32);
    CHECK_OK(idea_te_public_key(secret, key.public_key));
    return key;
}

static void keys(void) {
    uint8_t secret[32], public_key[32], again[32], other[32], other_public[32];
    CHECK_OK(idea_te_key_generate(secret, public_key));
    CHECK_OK(idea_te_public_key(secret, again));
    CHECK(memcmp(public_key, again, 32) == 0);
    CHECK_OK(idea_te_key_generate(other, other_public));
    CHECK(memcmp(secret, other, 32) != 0); /* fresh randomness each time */
    CHECK_FAILS(idea_te_public_key(NULL, again), IDEA_RESULT_NULL_POINTER);
}

/* Encodes `s` into a malloc'd buffer. */
static uint8_t *encode(const IdeaTeSigned *s, size_t *len) {
    CHECK_FAILS(idea_te_signed_encode(s, NULL, 0, len), IDEA_RESULT_BUFFER_TOO_SMALL);
    uint8_t *bytes = malloc(*len);
    CHECK(bytes != NULL);
    CHECK_OK(idea_te_signed_encode(s, bytes, *len, len));
    return bytes;
}

static void meter_reading(void) {
    uint8_t meter_secret[32];
    IdeaTeKey meter = party(40, meter_secret);
    IdeaTeMeterReading reading = {{0}, 17, 1796306400000LL, 1234567, 89012};
    memcpy(reading.meter, meter.avatar, 16);
    IdeaTeSigned *s = NULL;
    CHECK_OK(idea_te_meter_reading_new(DEPLOYMENT, &reading, &s));
    IdeaTeSignedInfo info;
    CHECK_OK(idea_te_signed_info(s, &info));
    CHECK(info.kind == IDEA_TE_KIND_METER_READING && info.signatures == 0 && info.signers == 1);
    CHECK(info.counter == 17 && memcmp(info.scope, meter.avatar, 16) == 0);
    CHECK(strcmp(idea_te_kind_name(info.kind), "meter-reading") == 0);
    uint8_t signer[16];
    CHECK_OK(idea_te_signed_signer(s, 0, signer));
    CHECK(memcmp(signer, meter.avatar, 16) == 0);
    /* Unsigned: verification says which signatures are missing. */
    CHECK_FAILS(idea_te_signed_verify(s, DEPLOYMENT, &meter, 1), IDEA_RESULT_TE_WRONG_SIGNERS);
    /* Someone else cannot sign in the meter's place. */
    uint8_t other_secret[32];
    IdeaTeKey other = party(41, other_secret);
    CHECK_FAILS(idea_te_signed_sign(s, other.avatar, 0, other_secret), IDEA_RESULT_TE_WRONG_SIGNERS);
    CHECK_OK(idea_te_signed_sign(s, meter.avatar, 0, meter_secret));
    CHECK_OK(idea_te_signed_verify(s, DEPLOYMENT, &meter, 1));

    /* Through its binary form. */
    size_t len = 0, used = 0;
    uint8_t *bytes = encode(s, &len);
    IdeaTeSigned *back = NULL;
    CHECK_OK(idea_te_signed_decode(bytes, len, &back, &used));
    CHECK(used == len);
    IdeaTeMeterReading read;
    CHECK_OK(idea_te_meter_reading_read(back, &read));
    CHECK(read.sequence == 17 && read.at_unix_ms == 1796306400000LL && read.import_wh == 1234567 &&
          read.export_wh == 89012);
    CHECK_OK(idea_te_signed_verify(back, DEPLOYMENT, &meter, 1));
    char name[32];
    size_t name_len = 0;
    CHECK_OK(idea_te_signed_deployment(back, name, sizeof name, &name_len));
    CHECK(strcmp(name, DEPLOYMENT) == 0);
    IdeaTeDeliveryToken not_a_token;
    CHECK_FAILS(idea_te_delivery_token_read(back, &not_a_token), IDEA_RESULT_WRONG_STATE);

    /* Refusals, each for its own reason. */
    CHECK_FAILS(idea_te_signed_verify(back, "another-deployment", &meter, 1), IDEA_RESULT_TE_WRONG_DOMAIN);
    CHECK_FAILS(idea_te_signed_verify(back, DEPLOYMENT, &other, 1), IDEA_RESULT_TE_UNKNOWN_KEY);
    IdeaTeKey wrong_key = meter;
    memcpy(wrong_key.public_key, other.public_key, 32);
    CHECK_FAILS(idea_te_signed_verify(back, DEPLOYMENT, &wrong_key, 1), IDEA_RESULT_TE_BAD_SIGNATURE);
    CHECK_LAST_ERROR_HAS("does not verify");
    IdeaTeKey weak = meter;
    memset(weak.public_key, 0, 32);
    CHECK_FAILS(idea_te_signed_verify(back, DEPLOYMENT, &weak, 1), IDEA_RESULT_TE_INVALID);
    CHECK_OK(idea_te_signed_free(&back));
    bytes[len - 1] ^= 0x01; /* a bit of the signature */
    CHECK_OK(idea_te_signed_decode(bytes, len, &back, &used));
    CHECK_FAILS(idea_te_signed_verify(back, DEPLOYMENT, &meter, 1), IDEA_RESULT_TE_BAD_SIGNATURE);
    CHECK_OK(idea_te_signed_free(&back));
    CHECK_FAILS(idea_te_signed_decode(bytes, len - 10, &back, &used), IDEA_RESULT_TE_DECODE);
    CHECK(back == NULL);
    free(bytes);

    /* Negative registers are refused at creation. */
    reading.import_wh = -1;
    CHECK_FAILS(idea_te_meter_reading_new(DEPLOYMENT, &reading, &back), IDEA_RESULT_TE_INVALID);
    CHECK_OK(idea_te_signed_free(&s));
}

static void delivery_token_signed_over_its_digest(void) {
    uint8_t meter_secret[32];
    IdeaTeKey meter = party(42, meter_secret);
    IdeaTeDeliveryToken token;
    memset(&token, 0, sizeof token);
    memcpy(token.meter, meter.avatar, 16);
    token.start_unix_ms = 1796306400000LL;
    token.period_s = 900;
    token.export_wh = 640;
    IdeaTeSigned *unsigned_token = NULL, *in_memory = NULL;
    CHECK_OK(idea_te_delivery_token_new(DEPLOYMENT, &token, &unsigned_token));
    CHECK_OK(idea_te_delivery_token_new(DEPLOYMENT, &token, &in_memory));

    /* "A secure element" signs the digest; here the same key signs in memory, and the signatures agree
     * (ed25519 is deterministic), so the one attached is the one a secure element would give. */
    uint8_t digest[32];
    CHECK_OK(idea_te_signed_digest(unsigned_token, digest));
    CHECK_OK(idea_te_signed_sign(in_memory, meter.avatar, 0, meter_secret));
    uint8_t signer[16], signature[64];
    uint32_t version = 99;
    CHECK_OK(idea_te_signed_signature(in_memory, 0, signer, &version, signature));
    CHECK(version == 0 && memcmp(signer, meter.avatar, 16) == 0);
    CHECK_FAILS(idea_te_signed_signature(in_memory, 1, signer, &version, signature), IDEA_RESULT_INVALID_ARGUMENT);
    CHECK_OK(idea_te_signed_attach(unsigned_token, meter.avatar, 0, signature));
    CHECK_OK(idea_te_signed_verify(unsigned_token, DEPLOYMENT, &meter, 1));

    IdeaTeDeliveryToken read;
    CHECK_OK(idea_te_delivery_token_read(unsigned_token, &read));
    CHECK(read.period_s == 900 && read.export_wh == 640 && read.import_wh == 0 && !read.estimated);
    int nonzero = 0;
    for (int i = 0; i < 16; i++) nonzero |= read.id[i];
    CHECK(nonzero); /* derived from the meter and the interval */
    IdeaTeSignedInfo info;
    CHECK_OK(idea_te_signed_info(unsigned_token, &info));
    CHECK(info.kind == IDEA_TE_KIND_DELIVERY_TOKEN && info.signatures == 1);

    /* A second signature has no slot. */
    CHECK_FAILS(idea_te_signed_attach(unsigned_token, meter.avatar, 0, signature), IDEA_RESULT_TE_WRONG_SIGNERS);
    /* An empty interval is refused. */
    IdeaTeSigned *empty = NULL;
    token.period_s = 0;
    CHECK_FAILS(idea_te_delivery_token_new(DEPLOYMENT, &token, &empty), IDEA_RESULT_TE_INVALID);
    CHECK_FAILS(idea_te_delivery_token_new("not a deployment name!", &token, &empty), IDEA_RESULT_TE_INVALID);
    CHECK_OK(idea_te_signed_free(&unsigned_token));
    CHECK_OK(idea_te_signed_free(&in_memory));
}

static void rust_vectors(const char *contract_path, const char *state_path) {
    uint8_t seller_secret[32], buyer_secret[32];
    IdeaTeKey keys[2] = {party(10, seller_secret), party(11, buyer_secret)};
    size_t len = 0, used = 0;

    uint8_t *bytes = read_file(contract_path, &len);
    IdeaTeSigned *contract = NULL;
    CHECK_OK(idea_te_signed_decode(bytes, len, &contract, &used));
    CHECK(used == len);
    CHECK_OK(idea_te_signed_verify(contract, DEPLOYMENT, keys, 2));
    CHECK_FAILS(idea_te_signed_verify(contract, DEPLOYMENT, keys, 1), IDEA_RESULT_TE_UNKNOWN_KEY);
    IdeaTeContract c;
    CHECK_OK(idea_te_contract_read(contract, &c));
    CHECK(c.id[0] == 7 && c.seller[0] == 10 && c.buyer[0] == 11 && c.agreed_at_unix_ms == 1796292000000LL);
    char json[2048];
    CHECK_OK(idea_te_contract_transaction_json(contract, json, sizeof json, &len));
    CHECK(strstr(json, "pv-farm") != NULL && strstr(json, "house-7") != NULL);
    /* The binary form written back is the one read. */
    size_t again_len = 0;
    uint8_t *again = encode(contract, &again_len);
    CHECK(again_len == used && memcmp(again, bytes, used) == 0);
    free(again);
    CHECK_OK(idea_te_signed_free(&contract));
    free(bytes);

    bytes = read_file(state_path, &len);
    IdeaTeSigned *state = NULL;
    CHECK_OK(idea_te_signed_decode(bytes, len, &state, &used));
    CHECK_OK(idea_te_signed_verify(state, DEPLOYMENT, keys, 2));
    IdeaTeChannelState cs;
    CHECK_OK(idea_te_channel_state_read(state, &cs));
    CHECK(cs.counter == 1 && cs.owed_by_b == 120 && cs.net_owed_by_a == -120 && cs.debts == 1 && cs.payments == 0);
    IdeaTeContract not_a_contract;
    CHECK_FAILS(idea_te_contract_read(state, &not_a_contract), IDEA_RESULT_WRONG_STATE);
    CHECK_OK(idea_te_signed_free(&state));
    free(bytes);

    /* A registration is a signed object the C ABI does not read; an unknown kind neither. */
    uint8_t registration[] = {0x00, 0x01, 0, 0};
    CHECK_FAILS(idea_te_signed_decode(registration, sizeof registration, &state, &used), IDEA_RESULT_TE_UNSUPPORTED_KIND);
    uint8_t unknown[] = {0x12, 0x34, 0, 0};
    CHECK_FAILS(idea_te_signed_decode(unknown, sizeof unknown, &state, &used), IDEA_RESULT_TE_UNSUPPORTED_KIND);
    CHECK_LAST_ERROR_HAS("4660 is not a kind of signed object");
}

int main(int argc, char **argv) {
    CHECK(argc == 3); /* tests/vectors/contract.bin, tests/vectors/channel-state.bin */
    keys();
    meter_reading();
    delivery_token_signed_over_its_digest();
    rust_vectors(argv[1], argv[2]);
    puts("te: ok");
    return 0;
}
