// The environments components live in: named when a list filter's environment has no component (a typo,
// 'prdd'). Only then — never per listing — and answered from the component_environment index's values.
MATCH (c:Component)
WHERE c.environment IS NOT NULL
RETURN collect(DISTINCT c.environment) AS environments
