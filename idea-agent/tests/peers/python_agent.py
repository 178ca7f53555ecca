"""A small IDEA agent written from the protocol documentation alone (idea-agent/README.md, PROP-03).

It joins a running deployment over MQTT (paho-mqtt), registers with the directory and subscribes to it,
finds a selling cell there, buys energy from it with FIPA Contract Net in the idea-energy ontology, and
prints `AGREED <transaction-id> <price>` when the seller informs it of the agreed transaction. Every message it
sends is signed as documented (ed25519 over the IDEA envelope digest, with `cryptography`); every message it
acts on must verify against the key the directory gave for its sender.

usage: python_agent.py HOST PORT DF_NAME DF_KEY_HEX MY_NAME MY_SEED_HEX START
"""
import hashlib, queue, re, sys, time
import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

host, port, df_name, df_key, me, seed, start = sys.argv[1:8]
key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
my_pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
keys = {df_name: df_key}  # agent name -> public key hex, from the directory

def inbox(name):  # fipa_acl::mqtt::inbox_topic
    enc = "".join(c if c not in "/+#%" and ord(c) >= 0x20 else "%%%02X" % ord(c) for c in name)
    return "idea/acl/%s/inbox" % enc

def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

def signed_fields(m):
    def part(b):
        return len(b).to_bytes(8, "big") + b
    out = part(m["performative"].lower().encode()) + part(m.get("sender", "").encode())
    out += len(m["receivers"]).to_bytes(8, "big") + b"".join(part(r.encode()) for r in m["receivers"])
    for name in ("conversation-id", "reply-with", "in-reply-to", "protocol", "ontology", "reply-by"):
        out += part(m.get(name, "").encode())
    return out + part(m.get("content", "").encode())

def digest(fields):
    h = hashlib.sha256()
    for p in (b"IDEA-SDK/envelope/v1", b"idea.agent.v1.AclMessage", fields):
        h.update(len(p).to_bytes(8, "big") + p)
    return h.digest()

def encode(m):  # the ACL string representation (SC00070), signed
    m["sender"] = me
    sig = key.sign(digest(signed_fields(m))).hex()
    text = "(%s :sender (agent-identifier :name %s) :receiver (set %s)" % (
        m["performative"], me, " ".join("(agent-identifier :name %s)" % r for r in m["receivers"]))
    for name in ("language", "ontology", "protocol"):  # words
        if name in m:
            text += " :%s %s" % (name, m[name])
    for name in ("content", "conversation-id", "reply-with", "in-reply-to"):  # strings
        if m.get(name):
            text += " :%s %s" % (name, quote(m[name]))
    return (text + " :X-idea-signature %s)" % quote(sig)).encode()

TOKEN = re.compile(rb'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|#(\d+)"|([^\s()"]+))', re.S)

def parse(data):  # one ACL message into {performative, sender, receivers, params…}
    pos, stack, top = 0, [[]], None
    while pos < len(data):
        t = TOKEN.match(data, pos)
        if not t or t.end() == pos:
            break
        pos = t.end()
        if t.group(1):
            stack.append([])
        elif t.group(2):
            done = stack.pop(); stack[-1].append(done)
        elif t.group(3) is not None:
            stack[-1].append(re.sub(rb'\\(.)', rb'\1', t.group(3)).decode())
        elif t.group(4):
            n = int(t.group(4)); stack[-1].append(data[pos:pos + n].decode("latin-1")); pos += n
        else:
            stack[-1].append(t.group(5).decode())
    top = stack[0][0]
    m = {"performative": top[0].lower()}
    for i in range(1, len(top) - 1, 2):
        m[top[i][1:].lower()] = top[i + 1]
    name = lambda aid: aid[aid.index(":name") + 1]
    m["sender"] = name(m["sender"])
    m["receivers"] = [name(a) for a in m.pop("receiver")[1:]]
    return m

def verified(m):
    pub = keys.get(m["sender"])
    sig = m.get("x-idea-signature")
    if not pub or not sig:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(pub)).verify(bytes.fromhex(sig), digest(signed_fields(m)))
        return True
    except Exception:
        return False

inbound = queue.Queue()
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=inbox(me).replace("/", "_"))
client.on_message = lambda c, u, msg: inbound.put(msg.payload)
client.connect(host, int(port))
client.subscribe(inbox(me), qos=1)
client.loop_start()
time.sleep(0.5)

def send(m):
    for r in m["receivers"]:
        client.publish(inbox(r), encode(dict(m)), qos=1)

def receive(conversation, deadline=20):
    end = time.time() + deadline
    while time.time() < end:
        try:
            m = parse(inbound.get(timeout=end - time.time()))
        except queue.Empty:
            break
        if m.get("conversation-id") == conversation and verified(m):
            return m
    sys.exit("no verified answer in conversation %s" % conversation)

# 1. Register with the directory (AUX-01), proving the key declared.
df = "(agent-identifier :name %s)" % df_name
identity = ('(service-description :name cell-9 :type idea-identity :properties (set (property :name key :value "%s") '
            '(property :name cell :value cell-9) (property :name cell-type :value prosumer)))' % my_pub)
register = ("((action %s (register (df-agent-description :name (agent-identifier :name %s) :services (set %s)))))"
            % (df, me, identity))
agent_mgmt = {"language": "fipa-sl0", "ontology": "FIPA-Agent-Management"}
send(dict(performative="request", receivers=[df_name], content=register, protocol="fipa-request",
          **{"conversation-id": "py-join"}, **agent_mgmt))
assert receive("py-join")["performative"] in ("agree", "inform")
# 2. Subscribe; the first inform lists every registered agent with its key and cell.
send(dict(performative="subscribe", receivers=[df_name], protocol="fipa-subscribe",
          content="((action %s (search (df-agent-description) (search-constraints))))" % df,
          **{"conversation-id": "py-join-subscription"}, **agent_mgmt))
while True:
    found = receive("py-join-subscription")
    if found["performative"] == "inform":
        break
cells = {}
for d in found["content"].split("(df-agent-description")[1:]:  # the quoted search's template has no name
    name = re.match(r"\s*:name \(agent-identifier :name ([^\s()]+)", d)
    if not name:
        continue
    name = name.group(1)
    pub = re.search(r'\(property :name key :value "([0-9a-f]{64})"\)', d)
    cell = re.search(r'\(property :name cell :value "?([\w.-]+)"?\)', d)
    if pub and cell:
        keys[name], cells[name] = pub.group(1), cell.group(1)
seller = sorted(cells)[0]
print("FOUND", seller, cells[seller], flush=True)
# 3. Call for an offer (UC-01): 500 Wh in one 15-minute interval, at most 30 cents/kWh.
eur = '(currency :code "EUR" :exponent 2)'
terms = ('(terms :penalty (penalty :currency %s :minor-units-per-kwh 40) :price (price :currency %s :minor-units-per-kwh 30) '
         ':profile (profile :energy-wh (sequence 500)) :tolerance (tolerance :absolute-wh 0 :relative-bp 0) '
         ':window (window :intervals 1 :period-s 900 :start "%s"))' % (eur, eur, start))
tid = hashlib.sha256(me.encode() + start.encode()).hexdigest()[:32]
cfp = ('((idea-energy (transaction-request :from-agent "agent-cell-9" :proposal (proposal :id "%s" :parties (parties '
       ':buyer (buyer :cell "cell-9" :cell-type "prosumer") :kind "peer-to-peer" :seller (seller :cell "%s" :cell-type '
       '"prosumer")) :service "p2p-market" :subject "energy" :terms %s) :reply-by "%s")))'
       % (tid, cells[seller], terms, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30))))
energy = {"language": "fipa-sl0", "ontology": "idea-energy", "protocol": "fipa-contract-net"}
send(dict(performative="cfp", receivers=[seller], content=cfp, **{"conversation-id": "py-buy", "reply-with": "py-cfp"},
          **energy))
offer = receive("py-buy")
if offer["performative"] != "propose":
    sys.exit("the seller answered %s: %s" % (offer["performative"], offer.get("content")))
price = re.search(r":price \(price .*?:minor-units-per-kwh (\d+)", offer["content"]).group(1)
# 4. Accept the offer as it stands (UC-02/03); the seller informs the agreed transaction.
send(dict(performative="accept-proposal", receivers=[seller], content=offer["content"],
          **{"conversation-id": "py-buy", "in-reply-to": offer.get("reply-with", ""), "reply-with": "py-accept"},
          **energy))
done = receive("py-buy")
if done["performative"] != "inform" or tid not in done["content"]:
    sys.exit("no agreed transaction: %s %s" % (done["performative"], done.get("content")))
print("AGREED", tid, price, flush=True)
client.loop_stop()
client.disconnect()
