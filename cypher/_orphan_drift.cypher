// fragment(node): node's drift kinds say `orphan` exactly while an import's orphan record (:Drift, indexed on component) names it — after anything that writes its drift (a commit, a runtime report, a types reload, a seed, an import's records) — so rules read it as they read its other kinds; `drifting` and `drift_entries` are its own entries only (the orphan's is the record).
SET node.drift = [k IN coalesce(node.drift, []) WHERE k <> 'orphan']
    + CASE WHEN EXISTS { MATCH (:Drift {component: node.id, kind: 'orphan'}) } THEN ['orphan'] ELSE [] END
SET node.drift = CASE WHEN size(node.drift) = 0 THEN null ELSE node.drift END
