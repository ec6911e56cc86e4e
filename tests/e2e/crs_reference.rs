//! GCJ-02/BD-09 against gcoord and prcoords (being written).
