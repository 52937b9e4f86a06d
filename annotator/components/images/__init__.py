"""The camera strips' browser side: the chosen image size kept in a cookie, and a click
on an image enlarging it in place (``images.js``)."""
