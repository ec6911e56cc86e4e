SELECT atom, l1, l2, l3 FROM plan_labels WHERE version = $1 ORDER BY atom
