// The names in $environments no component lives in (yet): a subscription naming one is kept — changes
// create environments — but its answer warns, so a typo ('prd') does not go unnoticed.
UNWIND $environments AS e
WITH e WHERE NOT EXISTS { MATCH (:Component {environment: e}) }
RETURN collect(DISTINCT e) AS unknown
