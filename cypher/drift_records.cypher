// The :Drift records an import covers, for it to compare with what it found (app/importing.py): those of
// the environments it imports ($prefixes: `iac/<environment>/`, or `iac/` for every environment — a
// range seek on the drift_file index) and those of any other file it names ($files: an index lookup
// each). Not the drift report: no component's own drift, nothing of the environments it leaves alone.
CALL () {
  UNWIND $prefixes AS prefix
  MATCH (d:Drift) WHERE d.file STARTS WITH prefix
  RETURN d
  UNION
  UNWIND $files AS file
  MATCH (d:Drift {file: file})
  RETURN d
}
WITH d ORDER BY d.file, d.component, d.field
RETURN collect(d {.*}) AS records
