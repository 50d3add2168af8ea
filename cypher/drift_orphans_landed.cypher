// The config store wrote these config files ($files: iac/<environment>/<type>/<nickname>/config.json) into
// the tree: an orphan record of one ("the imported tree has no config file for it") no longer says what the
// tree holds — a component seeded or created through Karma whose file its first write-back added. Dropped,
// and its component's drift kinds no longer say `orphan` (_orphan_drift); a refused file's record stays (the
// next import that reads the file replaces it). An index seek per file (drift_file). → how many dropped.
UNWIND $files AS file
MATCH (d:Drift {file: file, kind: 'orphan'})
WITH collect(d.component) AS ids, collect(d) AS records
FOREACH (d IN records | DELETE d)
WITH ids
CALL (ids) {
  UNWIND ids AS cid
  MATCH (c:Component {id: cid})
  // use: _orphan_drift(c)
}
RETURN size(ids) AS dropped
