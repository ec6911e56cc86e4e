SELECT id, region, number, parent, author, created_at, message, published
FROM plan_versions WHERE id = $1
