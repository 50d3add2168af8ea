// The fingerprint of every type declaration the service last started with (one node per type).
MATCH (t:KarmaType)
RETURN t.name AS name, t.fingerprint AS fingerprint
