"""Keyboard capture for the Annotate page: keys queued in the browser, sent in order.

``shortcuts`` maps key names to actions, ``capture`` mounts the browser component
(``keys.js``) and reads what it sent, ``queue`` applies the keys to the store in order
(no Streamlit there).
"""
