// What moved the config of components since someone saw them (app/changes/since.py), one read for a whole
// change set: for each of $seen — a component `id` and its base, the version `version` (the one a queued
// change was judged on, a transition's proposal verified on) or, when `change_id` is given, the version
// that change wrote (a rollback: what came after the change it undoes) — the base and every later version
// that changed its config or deleted it, oldest first (config only; a runtime report's version copies the
// config text unchanged and is left out), each with `asked_at`: when the change that wrote it was asked
// (its ChangeRequest's created_at; null for a seed or an import). The (component_id, version) constraint's index finds them; a
// deleted component's versions are kept, its last one `deleted: true`. One row per $seen, in its order.
UNWIND $seen AS s
CALL (s) {
  OPTIONAL MATCH (w:ConfigVersion {change_id: s.change_id}) WHERE w.component_id = s.id
  WITH coalesce(w.version, s.version) AS base
  MATCH (v:ConfigVersion) WHERE v.component_id = s.id AND v.version >= base
  WITH v ORDER BY v.version
  OPTIONAL MATCH (c:ChangeRequest {id: v.change_id})
  WITH v, c.created_at AS asked_at
  WITH collect(v {.version, .config, .cause, .change_id, .created_at, asked_at: asked_at,
                  deleted: coalesce(v.deleted, false)}) AS kept
  RETURN [i IN range(0, size(kept) - 1)
          WHERE i = 0 OR kept[i].deleted OR kept[i].config <> kept[i - 1].config | kept[i]] AS versions
}
RETURN s.id AS id, versions
