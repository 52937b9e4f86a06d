"""The sidebar name box's browser side: the name kept in this browser's storage, and
Enter or Tab leaving the box (``name.js``)."""
