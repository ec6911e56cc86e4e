INSERT INTO plan_labels (version, atom, l1, l2, l3)
SELECT $1, * FROM unnest($2::int8[], $3::int4[], $4::int4[], $5::int4[])
